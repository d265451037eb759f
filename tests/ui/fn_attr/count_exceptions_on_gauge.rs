use promdecl::prelude::*;

promdecl::metrics! {
    /// Metrics.
    pub mod m {
        /// In flight.
        pub static IN_FLIGHT: Gauge;
    }
}

#[count_exceptions(m::IN_FLIGHT)]
fn handle() -> Result<(), String> {
    Ok(())
}

fn main() {
    let _ = handle();
}
