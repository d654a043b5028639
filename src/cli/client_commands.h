// The client subcommands (create, list, status, stop, start, env, delete): they talk to a
// running server's HTTP API (--server URL / $SANDBOXD_SERVER, --token / $SANDBOXD_TOKEN).
#pragma once

#include <memory>
#include <optional>

#include <CLI/CLI.hpp>

namespace sandboxd::cli {

struct ClientCommands;

// Adds the client subcommands to `app`.
std::shared_ptr<ClientCommands> addClientCommands(CLI::App& app);

// After app.parse(): if a client subcommand was given, runs it and returns its exit code
// (0 ok, 1 operation failed, 2 usage/invalid input); nullopt otherwise. Results go to stdout,
// one-line errors to stderr.
std::optional<int> runClientCommand(ClientCommands& commands);

}  // namespace sandboxd::cli
