#pragma once
// Readiness and stop notifications to the service manager (systemd Type=notify, through
// libsystemd's sd_notify). Without $NOTIFY_SOCKET (not started by systemd) both do nothing.

#include <string_view>

namespace jitsu {

// "READY=1" plus a STATUS= line: the daemon serves (sockets bound, Xenstore connected).
void notify_ready(std::string_view status);
// "STOPPING=1": shutting down (a signal, or a fatal error after start-up).
void notify_stopping();

}  // namespace jitsu
