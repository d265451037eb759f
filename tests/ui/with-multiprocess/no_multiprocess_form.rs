use promdecl::prelude::*;

#[derive(Clone, Copy, PartialEq, Eq, Hash, LabelValue)]
enum State {
    Idle,
    Busy,
}

promdecl::metrics! {
    /// Worker metrics.
    #[metrics(multiprocess)]
    pub mod m {
        /// Build information.
        pub static BUILD: Info;
        /// Worker state.
        pub static STATE: Enum<State>;
        /// Jobs, sharded.
        pub static JOBS_TOTAL: ShardedCounter;
        /// Requests.
        pub static REQUESTS_TOTAL: Counter;
    }
}

fn main() {
    // The statics still exist, so these lines add no error of their own.
    m::REQUESTS_TOTAL.inc();
    let _ = &m::BUILD;
}
