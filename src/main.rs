fn main() -> std::process::ExitCode {
    cargo_layer::run(std::env::args_os())
}
