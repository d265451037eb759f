use promdecl::prelude::*;

#[derive(Clone, Copy, PartialEq, Eq, Hash, LabelValue)]
#[label(rename_al = "lowercase")]
enum Method {
    Get,
}

fn main() {}
