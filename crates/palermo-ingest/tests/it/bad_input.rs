//! Every kind of bad input: a clear error naming file, line and column, and
//! the store exactly as it was (counted before and after), on both backends.

use palermo_ingest::Error;
use palermo_model::Schema;

use crate::util::{backends, config, count, import, write};

const GOOD: &[u8] = b"id,first_name,surname,dob,passport,role\n\
    nl-1,Ahmed,Al-Rashid,1984-03-02,P1234567,suspect\n\
    nl-2,Dao,Sukjai,1999,,victim\n";

struct Case {
    name: &'static str,
    file: &'static str,
    bytes: &'static [u8],
    maps: &'static [(&'static str, &'static str)],
    /// Text the error message must contain.
    expect: &'static str,
}

const CASES: &[Case] = &[
    Case {
        name: "wrong column count",
        file: "cols.csv",
        bytes: b"id,first_name,surname\nx1,A,B\nx2,A,B,C\n",
        maps: &[],
        expect: "cols.csv:3: wrong number of columns: expected 3, found 4",
    },
    Case {
        name: "invalid utf-8",
        file: "utf8.csv",
        bytes: b"id,first_name\nx1,Ahmed\nx2,\xff\xfe\n",
        maps: &[],
        expect: "utf8.csv:3: column `first_name`: invalid UTF-8",
    },
    Case {
        name: "unparseable date",
        file: "date.csv",
        bytes: b"id,first_name,dob\nx1,A,1990-02-30\n",
        maps: &[],
        expect: "date.csv:2: column `dob`: invalid value \"1990-02-30\" for property `birthDate`",
    },
    Case {
        name: "unknown property in --map",
        file: "map.csv",
        bytes: b"id,first_name,shoe\nx1,A,42\n",
        maps: &[("shoe", "shoeSize")],
        expect: "map.csv: --map shoe=shoeSize: unknown property `shoeSize` for schema Person",
    },
    Case {
        name: "unknown column in --map",
        file: "mapcol.csv",
        bytes: b"id,first_name\nx1,A\n",
        maps: &[("nickname", "alias")],
        expect: "mapcol.csv: --map nickname=alias: no column `nickname`",
    },
    Case {
        name: "unknown marking",
        file: "tlp.csv",
        bytes: b"id,first_name,tlp\nx1,A,TLP:AMBER\nx2,B,TLP:PINK\n",
        maps: &[],
        expect: "tlp.csv:3: column `tlp`: unknown marking \"TLP:PINK\"",
    },
    Case {
        name: "unknown schema in FtM",
        file: "schema.jsonl",
        bytes: b"{\"id\":\"x1\",\"schema\":\"Person\",\"properties\":{}}\n{\"id\":\"x2\",\"schema\":\"Starship\",\"properties\":{}}\n",
        maps: &[],
        expect: "schema.jsonl:2: column `schema`: unknown schema `Starship`",
    },
    Case {
        name: "unknown marking in FtM",
        file: "marking.jsonl",
        bytes: b"{\"id\":\"x1\",\"schema\":\"Person\",\"palermo\":{\"markings\":{\"tlp\":\"TLP:PINK\",\"onward_sharing\":false}}}\n",
        maps: &[],
        expect: "marking.jsonl:1: column `palermo.markings`",
    },
    Case {
        name: "duplicate id with conflicting content",
        file: "dup.csv",
        bytes: b"id,first_name\nx1,Ahmed\nx1,Achmed\n",
        maps: &[],
        expect: "dup.csv:3: duplicate id `x1` with conflicting content",
    },
    Case {
        name: "conflict with a stored record",
        file: "stored.csv",
        bytes: b"id,first_name,surname\nnew-1,Somchai,Srisuk\nnl-1,Achmed,Alrasheed\n",
        maps: &[],
        expect: "stored.csv:3: duplicate id `nl-1` with conflicting content (already stored from",
    },
    Case {
        name: "empty file",
        file: "empty.csv",
        bytes: b"",
        maps: &[],
        expect: "empty.csv: the file is empty",
    },
    Case {
        name: "header only",
        file: "header.csv",
        bytes: b"id,first_name\n",
        maps: &[],
        expect: "header.csv: no records in the file",
    },
    Case {
        name: "json line that is not an object",
        file: "array.jsonl",
        bytes: b"{\"id\":\"x1\",\"schema\":\"Person\"}\n[1,2,3]\n",
        maps: &[],
        expect: "array.jsonl:2: a line must be a JSON object",
    },
    Case {
        name: "json line that is not json",
        file: "broken.jsonl",
        bytes: b"{\"id\":\"x1\",\"schema\":\"Person\"\n",
        maps: &[],
        expect: "broken.jsonl:1: not valid JSON",
    },
    Case {
        name: "no column maps to a property",
        file: "nothing.csv",
        bytes: b"id,entity_id,colour\nx1,e1,red\n",
        maps: &[],
        expect: "nothing.csv: no column maps to a Person property",
    },
];

#[tokio::test]
async fn bad_input_changes_nothing_on_either_backend() {
    let dir = tempfile::tempdir().unwrap();
    for (backend, store) in backends(dir.path()).await {
        let good = write(dir.path(), "good.csv", GOOD);
        import(&store, &good, &config(Schema::Person))
            .await
            .unwrap();
        let before = count(&store).await;
        let batches_before = palermo_store::Store::batches(&store).await.unwrap().len();
        for case in CASES {
            let path = write(dir.path(), case.file, case.bytes);
            let mut cfg = config(Schema::Person);
            cfg.maps = case
                .maps
                .iter()
                .map(|(c, p)| ((*c).to_owned(), (*p).to_owned()))
                .collect();
            let err = import(&store, &path, &cfg).await.expect_err(case.name);
            let message = err.to_string();
            assert!(
                message.contains(case.expect),
                "{backend} / {}: {message}",
                case.name
            );
            assert!(
                err.is_bad_input(),
                "{backend} / {}: not classed as bad input",
                case.name
            );
            assert_eq!(
                count(&store).await,
                before,
                "{backend} / {}: store changed",
                case.name
            );
        }
        let batches_after = palermo_store::Store::batches(&store).await.unwrap().len();
        assert_eq!(
            batches_before, batches_after,
            "{backend}: a failed import left a batch"
        );
    }
}

#[tokio::test]
async fn missing_file_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let store = crate::util::sqlite(dir.path()).await;
    let err = import(
        &store,
        &dir.path().join("nope.csv"),
        &config(Schema::Person),
    )
    .await
    .unwrap_err();
    assert!(matches!(err, Error::NotFound { .. }));
    assert!(err.to_string().ends_with("nope.csv: no such file"), "{err}");
}

#[tokio::test]
async fn reimporting_a_file_is_a_no_op() {
    let dir = tempfile::tempdir().unwrap();
    let store = crate::util::sqlite(dir.path()).await;
    let good = write(dir.path(), "good.csv", GOOD);
    let first = import(&store, &good, &config(Schema::Person))
        .await
        .unwrap();
    let second = import(&store, &good, &config(Schema::Person))
        .await
        .unwrap();
    assert_eq!((first.new, first.unchanged), (2, 0));
    assert_eq!((second.new, second.unchanged), (0, 2));
    assert_eq!(count(&store).await, 2);
}
