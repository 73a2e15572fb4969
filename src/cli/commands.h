// Each subcommand of build/bin/syn-guard registers itself on the CLI11 app.
// A command stores its exit code in *exit_code: 0 success, 1 runtime failure,
// 2 bad input (flags, files, values) — every error printed on stderr as
// "syn-guard: <what>: <why>".
#pragma once

#include <CLI/CLI.hpp>

namespace sg::cli {

void registerAgent(CLI::App& app, int* exit_code);  // agent_cmd.cpp
void registerControl(CLI::App& app,
                     int* exit_code);  // control_cmd.cpp: status, blocks, block, unblock
void registerReplay(CLI::App& app, int* exit_code);  // replay_cmd.cpp
void registerDemo(CLI::App& app, int* exit_code);    // demo_cmd.cpp
void registerConsole(CLI::App& app,
                     int* exit_code);             // console_cmd.cpp: console, console token create
void registerCtl(CLI::App& app, int* exit_code);  // ctl_cmd.cpp: the console's REST API client

}  // namespace sg::cli
