#[scf::function]
struct Handler;
