use promdecl::prelude::*;

promdecl::metrics! {
    /// Metrics.
    pub mod m {
        /// Errors.
        pub static ERRORS_TOTAL: Counter;
    }
}

#[count_exceptions(m::ERRORS_TOTAL, trace_exemplar)]
fn handle() -> Result<(), ()> {
    Ok(())
}

fn main() {
    let _ = handle();
}
