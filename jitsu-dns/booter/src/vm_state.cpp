#include "jitsu_dns/vm_state.h"

namespace jitsu::dns {

std::string_view to_string(vm_phase phase) {
    switch (phase) {
        case vm_phase::stopped:
            return "stopped";
        case vm_phase::booting:
            return "booting";
        case vm_phase::running:
            return "running";
        case vm_phase::stopping:
            return "stopping";
        case vm_phase::suspended:
            return "suspended";
        case vm_phase::resuming:
            return "resuming";
        case vm_phase::queued:
            return "queued";
    }
    return "unknown";
}

std::string_view tree_state(vm_phase phase) {
    switch (phase) {
        case vm_phase::stopped:
            return "stopped";
        case vm_phase::booting:
        case vm_phase::resuming:
        case vm_phase::queued:
            return "booting";
        case vm_phase::running:
        case vm_phase::stopping:
            return "running";
        case vm_phase::suspended:
            return "suspended";
    }
    return "stopped";
}

std::string_view stop_mode_name(stop_mode mode) {
    switch (mode) {
        case stop_mode::destroy:
            return "destroy";
        case stop_mode::suspend:
            return "suspend";
        case stop_mode::shutdown:
            return "shutdown";
    }
    return "destroy";
}

}  // namespace jitsu::dns
