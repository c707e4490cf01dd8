/*
 * switchboard: the one binary. main() only hands the command line to the CLI
 * dispatcher in cli.c, which wires config, store, ops, auth and http together.
 */
#include "cli.h"

int main(int argc, char **argv)
{
    return cli_main(argc, argv);
}
