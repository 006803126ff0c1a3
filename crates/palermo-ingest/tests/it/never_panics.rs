//! The readers behind `palermo import` return an error, never a panic, on
//! arbitrary input (the same property the `fuzz/` targets explore longer).

use std::path::Path;

use palermo_ingest::{InputFormat, read_entities};
use palermo_model::Schema;
use proptest::prelude::*;

use crate::util::config;

fn read(bytes: &[u8], format: InputFormat) {
    let mut cfg = config(Schema::Person);
    cfg.format = Some(format);
    let _ = read_entities(bytes, Path::new("fuzz"), &cfg, &mut |_| {});
}

proptest! {
    #[test]
    fn csv_reader_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..400)) {
        read(&bytes, InputFormat::Csv);
    }

    #[test]
    fn csv_reader_never_panics_on_csv_like_text(
        text in "(id|name|dob|first_name|role|tlp|passport)(,(id|name|dob|first_name|role|tlp|passport)){0,4}\n([a-zA-Z0-9 \"\\-:/]{0,12}(,[a-zA-Z0-9 \"\\-:/]{0,12}){0,5}\n){0,5}"
    ) {
        read(text.as_bytes(), InputFormat::Csv);
    }

    #[test]
    fn ftm_reader_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..400)) {
        read(&bytes, InputFormat::Ftm);
    }

    #[test]
    fn ftm_reader_never_panics_on_json_like_text(
        text in "\\{\"id\":\"[a-z0-9]{0,4}\",\"schema\":\"(Person|Passport|Payment|X)\",\"properties\":\\{(\"[a-zA-Z]{1,10}\":\\[\"[^\"\\\\]{0,10}\"\\])?\\}(,\"palermo\":\\{\"role\":\"(victim|suspect|x)\"\\})?\\}\n"
    ) {
        read(text.as_bytes(), InputFormat::Ftm);
    }
}
