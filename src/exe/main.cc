// The only code the tests do not link.
#include "cli/cli.h"

int main(int argc, char** argv) { return sandboxd::cli::run(argc, argv); }
