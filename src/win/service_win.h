// The Windows service: install/uninstall/start/stop through the Service
// Control Manager, and the service's own entry (`service-run`) that runs the
// agent until the SCM stops it, errors to the Application event log, restart
// on failure (RecoveryPlan). Windows only: Wine has an SCM, but whether a
// service restarts after a crash is checked on a real host.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "core/result.h"
#include "win/service_args.h"

namespace sg::win {

// install: `agent_args` become the service's command line (serviceCommandLine).
Result<void> serviceControl(ServiceAction action, const std::vector<std::string>& agent_args);

// The entry the SCM starts: hands control to the dispatcher, which calls
// `run` with the service's stop event. Returns the process exit code.
int serviceRun(const std::function<int(void* stop_event)>& run);

// One error line in the Application event log (source "syn-guard").
void reportServiceError(const std::string& message);

}  // namespace sg::win
