promdecl::metrics! {
    /// Metrics.
    pub mod m {
        /// Jobs.
        #[metric(max_children = 100, expire_after_seconds = 600)]
        pub static JOBS: Counter;
    }
}

fn main() {}
