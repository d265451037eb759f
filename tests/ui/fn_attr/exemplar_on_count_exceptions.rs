use promdecl::prelude::*;

promdecl::metrics! {
    /// Metrics.
    pub mod m {
        /// Errors.
        pub static ERRORS_TOTAL: Counter;
    }
}

#[count_exceptions(m::ERRORS_TOTAL, exemplar(trace_id = "abc"))]
fn handle() -> Result<(), String> {
    Ok(())
}

fn main() {
    let _ = handle();
}
