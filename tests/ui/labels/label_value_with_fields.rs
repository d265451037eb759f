use promdecl::prelude::*;

#[derive(LabelValue)]
enum Method {
    Get,
    Other(String),
}

fn main() {}
