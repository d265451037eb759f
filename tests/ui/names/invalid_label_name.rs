use promdecl::prelude::*;

#[derive(Clone, PartialEq, Eq, Hash, LabelSet)]
struct Route {
    #[label(rename = "end-point")]
    endpoint: &'static str,
}

fn main() {}
