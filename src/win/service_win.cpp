#include "win/service_win.h"

#include <functional>

#include "win/win_compat.h"

namespace sg::win {
namespace {

std::wstring wide(const std::string& s) { return std::wstring(s.begin(), s.end()); }

Error scmError(const char* call) {
  const DWORD rc = GetLastError();
  if (rc == ERROR_ACCESS_DENIED) {
    return Error(Errc::kPermissionDenied,
                 std::string(call) + ": access denied (run as Administrator)");
  }
  return Error(Errc::kIo, std::string(call) + ": error " + std::to_string(rc));
}

struct ScHandle {
  SC_HANDLE h = nullptr;
  ~ScHandle() {
    if (h != nullptr) CloseServiceHandle(h);
  }
};

Result<void> install(SC_HANDLE scm, const std::vector<std::string>& agent_args) {
  wchar_t path[MAX_PATH];
  const DWORD n = GetModuleFileNameW(nullptr, path, MAX_PATH);
  if (n == 0 || n == MAX_PATH) return scmError("GetModuleFileNameW");
  std::string exe;
  for (DWORD i = 0; i < n; i++) exe.push_back(path[i] < 0x80 ? static_cast<char>(path[i]) : '?');
  auto line = serviceCommandLine(exe, agent_args);
  if (!line.ok()) return line.error();
  ScHandle svc{CreateServiceW(scm, wide(kServiceName).c_str(), wide(kServiceDisplayName).c_str(),
                              SERVICE_ALL_ACCESS, SERVICE_WIN32_OWN_PROCESS, SERVICE_AUTO_START,
                              SERVICE_ERROR_NORMAL, wide(*line).c_str(), nullptr, nullptr, nullptr,
                              nullptr, nullptr)};
  if (svc.h == nullptr) return scmError("CreateServiceW");
  const RecoveryPlan plan;
  std::vector<SC_ACTION> actions;
  for (uint32_t ms : plan.restart_delays_ms) actions.push_back({SC_ACTION_RESTART, ms});
  SERVICE_FAILURE_ACTIONSW failure{};
  failure.dwResetPeriod = plan.reset_period_s;
  failure.cActions = static_cast<DWORD>(actions.size());
  failure.lpsaActions = actions.data();
  if (!ChangeServiceConfig2W(svc.h, SERVICE_CONFIG_FAILURE_ACTIONS, &failure)) {
    return scmError("ChangeServiceConfig2W(failure actions)");
  }
  std::wstring text = L"Blocks SYN and connection floods per source (ETW sensor, WFP filters)";
  SERVICE_DESCRIPTIONW desc{text.data()};
  ChangeServiceConfig2W(svc.h, SERVICE_CONFIG_DESCRIPTION, &desc);
  return Ok{};
}

// The service's state, shared with the handler the SCM calls.
SERVICE_STATUS_HANDLE g_status_handle = nullptr;
HANDLE g_stop_event = nullptr;
std::function<int(void*)>* g_run = nullptr;
int g_exit_code = 0;

void setState(DWORD state, DWORD exit_code = NO_ERROR) {
  SERVICE_STATUS s{};
  s.dwServiceType = SERVICE_WIN32_OWN_PROCESS;
  s.dwCurrentState = state;
  s.dwControlsAccepted =
      state == SERVICE_RUNNING ? SERVICE_ACCEPT_STOP | SERVICE_ACCEPT_SHUTDOWN : 0;
  s.dwWin32ExitCode = exit_code;
  s.dwWaitHint = state == SERVICE_RUNNING || state == SERVICE_STOPPED ? 0 : 10'000;
  SetServiceStatus(g_status_handle, &s);
}

DWORD WINAPI onControl(DWORD control, DWORD, LPVOID, LPVOID) {
  if (control == SERVICE_CONTROL_STOP || control == SERVICE_CONTROL_SHUTDOWN) {
    setState(SERVICE_STOP_PENDING);
    SetEvent(g_stop_event);
    return NO_ERROR;
  }
  return control == SERVICE_CONTROL_INTERROGATE ? NO_ERROR : ERROR_CALL_NOT_IMPLEMENTED;
}

void WINAPI serviceMain(DWORD, LPWSTR*) {
  g_status_handle = RegisterServiceCtrlHandlerExW(wide(kServiceName).c_str(), onControl, nullptr);
  if (g_status_handle == nullptr) return;
  g_stop_event = CreateEventW(nullptr, TRUE, FALSE, nullptr);
  setState(SERVICE_RUNNING);
  g_exit_code = (*g_run)(g_stop_event);
  // A non-zero exit code is a failure: the SCM's recovery restarts the service.
  setState(SERVICE_STOPPED, g_exit_code == 0 ? NO_ERROR : ERROR_SERVICE_SPECIFIC_ERROR);
}

}  // namespace

Result<void> serviceControl(ServiceAction action, const std::vector<std::string>& agent_args) {
  if (action != ServiceAction::kInstall && !agent_args.empty()) {
    return Error(Errc::kInvalidArgument, "service: agent flags are given at install only");
  }
  ScHandle scm{OpenSCManagerW(nullptr, nullptr, SC_MANAGER_ALL_ACCESS)};
  if (scm.h == nullptr) return scmError("OpenSCManagerW");
  if (action == ServiceAction::kInstall) return install(scm.h, agent_args);
  ScHandle svc{OpenServiceW(scm.h, wide(kServiceName).c_str(), SERVICE_ALL_ACCESS)};
  if (svc.h == nullptr) return scmError("OpenServiceW");
  SERVICE_STATUS status{};
  switch (action) {
    case ServiceAction::kStart:
      if (!StartServiceW(svc.h, 0, nullptr)) return scmError("StartServiceW");
      return Ok{};
    case ServiceAction::kStop:
      if (!ControlService(svc.h, SERVICE_CONTROL_STOP, &status))
        return scmError("ControlService(stop)");
      return Ok{};
    case ServiceAction::kUninstall:
      ControlService(svc.h, SERVICE_CONTROL_STOP, &status);  // not running: fine
      if (!DeleteService(svc.h)) return scmError("DeleteService");
      return Ok{};
    case ServiceAction::kInstall:
      break;
  }
  return Ok{};
}

int serviceRun(const std::function<int(void* stop_event)>& run) {
  std::function<int(void*)> copy = run;
  g_run = &copy;
  std::wstring name = wide(kServiceName);
  SERVICE_TABLE_ENTRYW table[] = {{name.data(), serviceMain}, {nullptr, nullptr}};
  if (!StartServiceCtrlDispatcherW(table)) {
    reportServiceError(
        "service-run: not started by the Service Control Manager (use `service start`)");
    return 1;
  }
  return g_exit_code;
}

void reportServiceError(const std::string& message) {
  HANDLE source = RegisterEventSourceW(nullptr, wide(kServiceName).c_str());
  if (source == nullptr) return;
  const std::wstring text = wide(message);
  LPCWSTR strings[] = {text.c_str()};
  ReportEventW(source, EVENTLOG_ERROR_TYPE, 0, 1, nullptr, 1, 0, strings, nullptr);
  DeregisterEventSource(source);
}

}  // namespace sg::win
