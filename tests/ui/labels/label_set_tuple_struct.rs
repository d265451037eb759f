use promdecl::prelude::*;

#[derive(Clone, PartialEq, Eq, Hash, LabelSet)]
struct Route(&'static str, &'static str);

fn main() {}
