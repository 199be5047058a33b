#include "common/service_notify.h"

#include <systemd/sd-daemon.h>

#include <string>

namespace jitsu {

void notify_ready(std::string_view status) {
    // STATUS= is one line: a newline would start another assignment.
    std::string line = "READY=1\nSTATUS=";
    for (char c : status) line.push_back(c == '\n' ? ' ' : c);
    // 0: not under systemd; negative: the manager is gone. Neither stops the daemon.
    (void)sd_notify(0, line.c_str());
}

void notify_stopping() { (void)sd_notify(0, "STOPPING=1"); }

}  // namespace jitsu
