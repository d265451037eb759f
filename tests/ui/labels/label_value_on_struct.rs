use promdecl::prelude::*;

#[derive(LabelValue)]
struct Method {
    name: String,
}

fn main() {}
