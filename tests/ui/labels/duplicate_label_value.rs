use promdecl::prelude::*;

#[derive(Clone, Copy, PartialEq, Eq, Hash, LabelValue)]
#[label(rename_all = "lowercase")]
enum Method {
    Get,
    #[label(rename = "get")]
    Fetch,
}

fn main() {}
