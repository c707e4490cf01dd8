/*
 * The command-line interface: `switchboard <command> [options]`.
 * Exit codes are part of the interface (scripts depend on them):
 * 0 ok, 1 runtime failure, 2 usage error, 3 refused configuration,
 * 4 not found, 5 conflict, 6 audit chain tampered.
 */
#ifndef SB_CLI_H
#define SB_CLI_H

enum cli_exit {
    CLI_OK = 0,
    CLI_FAIL = 1,
    CLI_USAGE = 2,
    CLI_CONFIG = 3,
    CLI_NOTFOUND = 4,
    CLI_CONFLICT = 5,
    CLI_TAMPERED = 6,
};

int cli_main(int argc, char **argv);

#endif
