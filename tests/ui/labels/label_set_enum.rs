use promdecl::prelude::*;

#[derive(Clone, PartialEq, Eq, Hash, LabelSet)]
enum Route {
    Index,
    Submit,
}

fn main() {}
