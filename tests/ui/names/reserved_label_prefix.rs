use promdecl::prelude::*;

#[derive(Clone, PartialEq, Eq, Hash, LabelSet)]
struct Internal {
    __name: &'static str,
}

fn main() {}
