//! Fuzz palermo-sim's parsers and validators: the country list of
//! `palermo sim --countries`, MRZ line checks and IBAN checks. None may
//! panic; errors are fine. A line that passes the MRZ check must also pass
//! the check-digit recomputation of each field.
//!
//! Run with: cargo +nightly fuzz run sim_inputs

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let _ = palermo_sim::Config::parse(text, 10, 1);
    let _ = palermo_sim::iban_valid(text);
    let _ = palermo_sim::mrz_check_digit(text);
    if palermo_sim::td3_line2_valid(text) {
        assert_eq!(
            u32::from(palermo_sim::mrz_check_digit(&text[0..9])),
            text[9..10].parse::<u32>().unwrap_or(99)
        );
    }
});
