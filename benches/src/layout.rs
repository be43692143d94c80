//! Where a benchmark binary's code lands in memory, moved on purpose.
//!
//! A build's speed depends on more than its code: where the linker puts each
//! function decides which functions share cache lines, cache sets and pages,
//! and how branches alias in the predictor. On this machine two builds of the
//! same raw hyper source, whose only difference is the order of unrelated
//! code, differ by 3–4 % in requests per CPU-second (`RESULTS.md`), which is as
//! large as the differences being measured. [`text_shift!`](crate::text_shift) lets a build move
//! all the code linked after the binary's own by a chosen number of bytes, so
//! that `benches/layouts.sh` can measure each server at several layouts and
//! report what holds across them rather than one layout's luck.

/// The number of bytes in `BENCH_TEXT_SHIFT` (decimal digits; unset or empty
/// is 0), read at compile time.
///
/// # Panics
/// On anything but decimal digits: evaluated in a constant, as
/// [`text_shift!`](crate::text_shift) does, that fails the build, so that a
/// mistyped offset never measures an unshifted build under its name.
#[must_use]
pub const fn shift(value: Option<&str>) -> usize {
    let Some(text) = value else {
        return 0;
    };
    let bytes = text.as_bytes();
    let mut n = 0usize;
    let mut i = 0;
    while i < bytes.len() {
        let digit = bytes[i];
        assert!(
            digit.is_ascii_digit(),
            "BENCH_TEXT_SHIFT must be a number of bytes in decimal digits"
        );
        n = n * 10 + (digit - b'0') as usize;
        i += 1;
    }
    n
}

/// Puts `BENCH_TEXT_SHIFT` bytes (set when the binary is built; 0 when unset)
/// of unused space at the start of the calling binary's code, before the code
/// of the libraries it links: every hot function of the server then sits that
/// many bytes further on. Call it once, at the top level of a benchmark
/// binary's `main.rs`. Changing the variable rebuilds the binary.
#[macro_export]
macro_rules! text_shift {
    () => {
        #[cfg(all(target_os = "linux", any(target_arch = "x86_64", target_arch = "aarch64")))]
        ::std::arch::global_asm!(
            ".pushsection .text.bench_text_shift,\"axR\",@progbits",
            ".skip {shift}",
            ".popsection",
            shift = const $crate::layout::shift(::core::option_env!("BENCH_TEXT_SHIFT")),
        );
    };
}

#[cfg(test)]
mod tests {
    use super::shift;

    #[test]
    fn a_shift_is_read_from_decimal_digits() {
        assert_eq!(shift(None), 0);
        assert_eq!(shift(Some("")), 0);
        assert_eq!(shift(Some("1040")), 1040);
    }

    #[test]
    #[should_panic(expected = "BENCH_TEXT_SHIFT must be a number of bytes")]
    fn a_mistyped_shift_is_refused() {
        let _ = shift(Some("1O40"));
    }

    #[test]
    #[should_panic(expected = "BENCH_TEXT_SHIFT must be a number of bytes")]
    fn a_negative_shift_is_refused() {
        let _ = shift(Some("-16"));
    }
}
