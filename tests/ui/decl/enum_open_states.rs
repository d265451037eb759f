promdecl::metrics! {
    /// Metrics.
    pub mod m {
        /// State.
        pub static STATE: Enum<&'static str>;
    }
}

fn main() {}
