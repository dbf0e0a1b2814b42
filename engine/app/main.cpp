#include "engine/app/cli.hpp"

int main(int argc, char** argv) { return te::app::run_cli(argc, argv); }
