use promdecl::LabelValue;

#[derive(Clone, Copy, PartialEq, Eq, Hash, LabelValue)]
#[label(crate = "promdecl runtime")]
enum Method {
    Get,
}

fn main() {}
