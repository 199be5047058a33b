#include "synjitsu/host_replay.h"

#include <spdlog/spdlog.h>

#include <algorithm>

#include "common/format.h"

namespace jitsu::synjitsu {

namespace {

double ms(std::uint64_t ns) { return static_cast<double>(ns) / 1e6; }

std::string port_list(const std::vector<std::uint16_t>& ports) {
    std::string out;
    for (const auto p : ports) {
        if (!out.empty()) out += '+';
        out += std::to_string(p);
    }
    return out.empty() ? "none" : out;
}

}  // namespace

const char* to_string(probe_outcome o) {
    switch (o) {
        case probe_outcome::accepted:
            return "accepted";
        case probe_outcome::refused:
            return "refused";
        case probe_outcome::failed:
            return "failed";
    }
    return "?";
}

host_replay::host_replay(prober& probes, queue_taker& taker, booting_table& table, metrics& m,
                         host_replay_limits limits)
    : probes_(probes), taker_(taker), table_(table), metrics_(m), limits_(limits) {}

host_replay::session* host_replay::find(const ip_address& ip) {
    for (auto& s : sessions_) {
        if (s.ip == ip) return &s;
    }
    return nullptr;
}

const host_replay::session* host_replay::find(const ip_address& ip) const {
    for (const auto& s : sessions_) {
        if (s.ip == ip) return &s;
    }
    return nullptr;
}

bool host_replay::probing(const ip_address& ip) const { return find(ip) != nullptr; }

bool host_replay::taking(const ip_address& ip) const {
    const session* s = find(ip);
    return s != nullptr && s->take_ticket.has_value();
}

std::vector<std::uint16_t> host_replay::ports(const ip_address& ip) const {
    std::vector<std::uint16_t> out;
    if (const session* s = find(ip)) {
        for (const auto& p : s->ports) out.push_back(p.port);
    }
    return out;
}

void host_replay::start(const ip_address& ip, const mac_address& mac,
                        std::span<const std::uint16_t> hints, std::uint64_t now_ns) {
    saw(now_ns);
    if (find(ip) != nullptr) {
        cancel_attempts(ip, std::nullopt, now_ns);
        erase_session(ip);
    }
    session s;
    s.ip = ip;
    s.mac = mac;
    s.started_ns = now_ns;
    s.give_up_ns = now_ns + limits_.give_up_ns;
    s.next_prepare_ns = now_ns + limits_.prepare_every_ns;
    sessions_.push_back(std::move(s));
    session& added = sessions_.back();
    for (const auto port : hints) add_port_to(added, port, now_ns);
    probes_.prepare(ip, mac);
    spdlog::info(
        "{}: host replay: probing {} port(s) ({}) every {:.1f} ms, giving up after "
        "{:.1f} s",
        ip, added.ports.size(), port_list(ports(ip)), ms(limits_.interval_ns),
        static_cast<double>(limits_.give_up_ns) / 1e9);
    update_gauges();
    pump(now_ns);
    changed();
}

void host_replay::add_hints(const ip_address& ip, std::span<const std::uint16_t> hints,
                            std::uint64_t now_ns) {
    saw(now_ns);
    session* s = find(ip);
    if (s == nullptr) return;
    for (const auto port : hints) add_port_to(*s, port, now_ns);
    pump(now_ns);
    changed();
}

void host_replay::add_port(const ip_address& ip, std::uint16_t port, std::uint64_t now_ns) {
    saw(now_ns);
    session* s = find(ip);
    if (s == nullptr) return;
    const std::size_t before = s->ports.size();
    add_port_to(*s, port, now_ns);
    if (s->ports.size() == before) return;  // known port: the hot path stops here
    spdlog::info("{}: host replay: a SYN to port {} was queued: probing it too", ip, port);
    pump(now_ns);
    changed();
}

void host_replay::add_port_to(session& s, std::uint16_t port, std::uint64_t now_ns) {
    for (const auto& p : s.ports) {
        if (p.port == port) return;
    }
    if (s.ports.size() >= limits_.max_ports) {
        if (!s.warned_ports) {
            spdlog::warn(
                "{}: host replay: more than {} ports; port {} and later ones are not "
                "probed (their SYNs are replayed with the others)",
                s.ip, limits_.max_ports, port);
            s.warned_ports = true;
        }
        return;
    }
    s.ports.push_back(port_state{port, false, now_ns, 0});
}

void host_replay::cancel(const ip_address& ip, const char* why) {
    session* s = find(ip);
    if (s == nullptr) return;
    ++metrics_.host_replay_cancelled;
    spdlog::info("{}: host replay cancelled ({}) after {} probe(s)", ip, why, s->attempts);
    cancel_attempts(ip, std::nullopt, now_ns_);
    erase_session(ip);
    update_gauges();
}

void host_replay::erase_session(const ip_address& ip) {
    std::erase_if(sessions_, [&](const session& s) { return s.ip == ip; });
}

void host_replay::start_attempt(session& s, port_state& p, std::uint64_t now_ns) {
    p.next_attempt_ns = now_ns + limits_.interval_ns;
    p.last_attempt_ns = now_ns;
    const probe_id id = ++next_probe_;
    ++s.attempts;
    ++metrics_.probes_sent;
    std::error_code ec;
    const auto tuple = probes_.start(id, s.ip, p.port, ec);
    if (!tuple) {
        ++s.failed;
        ++metrics_.probes_failed;
        s.last_error = ec;
        if (!s.warned_failure) {
            spdlog::warn(
                "{}: host replay: cannot probe port {}: {} (synjitsu's namespace must "
                "route to the VM; retrying every {:.1f} ms)",
                s.ip, p.port, ec.message(), ms(limits_.interval_ns));
            s.warned_failure = true;
        }
        return;
    }
    table_.exclude(*tuple);
    attempts_.push_back(attempt{id, s.ip, p.port, now_ns + limits_.attempt_timeout_ns, *tuple});
}

void host_replay::close_attempt(std::size_t index, std::uint64_t now_ns, bool cancel) {
    const attempt a = attempts_[index];
    attempts_.erase(attempts_.begin() + static_cast<std::ptrdiff_t>(index));
    if (cancel) probes_.cancel(a.id);
    closed_.push_back(closed_probe{a.tuple, now_ns + limits_.exclusion_grace_ns});
    while (closed_.size() > limits_.max_closed_exclusions) {
        table_.unexclude(closed_.front().tuple);
        closed_.pop_front();
    }
}

void host_replay::cancel_attempts(const ip_address& ip, std::optional<std::uint16_t> port,
                                  std::uint64_t now_ns) {
    for (std::size_t i = attempts_.size(); i-- > 0;) {
        if (attempts_[i].ip == ip && (!port || attempts_[i].port == *port)) {
            close_attempt(i, now_ns, true);
        }
    }
    update_gauges();
}

void host_replay::pump(std::uint64_t now_ns) {
    // Due ports, the longest unprobed first: with the socket cap reached, the ones left
    // over go first next time (no port starves another).
    std::vector<std::pair<session*, port_state*>> due;
    for (auto& s : sessions_) {
        if (s.take_ticket) continue;
        for (auto& p : s.ports) {
            if (!p.accepted && p.next_attempt_ns <= now_ns) due.emplace_back(&s, &p);
        }
    }
    std::stable_sort(due.begin(), due.end(), [](const auto& a, const auto& b) {
        return a.second->last_attempt_ns < b.second->last_attempt_ns;
    });
    for (auto& [s, p] : due) {
        if (attempts_.size() >= limits_.max_in_flight) {
            p->next_attempt_ns = now_ns + limits_.interval_ns;
            continue;
        }
        start_attempt(*s, *p, now_ns);
    }
    update_gauges();
}

void host_replay::on_tick(std::uint64_t now_ns) {
    saw(now_ns);
    // Attempts nobody answered: the SYN was lost (VM down) or the answer is late.
    for (std::size_t i = attempts_.size(); i-- > 0;) {
        if (attempts_[i].deadline_ns > now_ns) continue;
        if (session* s = find(attempts_[i].ip)) ++s->timed_out;
        ++metrics_.probes_timed_out;
        close_attempt(i, now_ns, true);
    }
    // Sessions past their bound; failed takes due again; neighbour hints.
    std::vector<ip_address> expired;
    for (auto& s : sessions_) {
        if (!s.take_ticket && now_ns >= s.give_up_ns) {
            expired.push_back(s.ip);
            continue;
        }
        if (s.retry_take_ns && !s.take_ticket && now_ns >= *s.retry_take_ns) {
            start_take(s, false, now_ns);
        }
        if (!s.take_ticket && now_ns >= s.next_prepare_ns) {
            s.next_prepare_ns = now_ns + limits_.prepare_every_ns;
            probes_.prepare(s.ip, s.mac);
        }
    }
    for (const auto& ip : expired) {
        if (session* s = find(ip)) give_up(*s, now_ns);
    }
    pump(now_ns);
    expire_exclusions(now_ns);
}

void host_replay::expire_exclusions(std::uint64_t now_ns) {
    while (!closed_.empty() && closed_.front().expires_ns <= now_ns) {
        table_.unexclude(closed_.front().tuple);
        closed_.pop_front();
    }
}

std::optional<std::uint64_t> host_replay::next_wakeup() const {
    std::optional<std::uint64_t> next;
    const auto consider = [&](std::uint64_t t) {
        if (!next || t < *next) next = t;
    };
    for (const auto& a : attempts_) consider(a.deadline_ns);
    for (const auto& s : sessions_) {
        if (s.take_ticket) continue;
        consider(s.give_up_ns);
        consider(s.next_prepare_ns);
        if (s.retry_take_ns) consider(*s.retry_take_ns);
        for (const auto& p : s.ports) {
            if (!p.accepted) consider(p.next_attempt_ns);
        }
    }
    if (!closed_.empty()) consider(closed_.front().expires_ns);
    return next;
}

void host_replay::on_probe_result(probe_id id, probe_outcome outcome, std::error_code ec,
                                  std::uint64_t now_ns) {
    saw(now_ns);
    const auto it = std::find_if(attempts_.begin(), attempts_.end(),
                                 [&](const attempt& a) { return a.id == id; });
    if (it == attempts_.end()) return;  // cancelled or timed out meanwhile
    const attempt a = *it;
    close_attempt(static_cast<std::size_t>(it - attempts_.begin()), now_ns, false);
    changed();  // the exclusion's expiry is a new wake-up
    session* s = find(a.ip);
    if (s == nullptr) return;
    const auto port = std::find_if(s->ports.begin(), s->ports.end(),
                                   [&](const port_state& p) { return p.port == a.port; });
    switch (outcome) {
        case probe_outcome::refused:
            ++s->refused;
            ++metrics_.probes_refused;
            break;
        case probe_outcome::failed:
            ++s->failed;
            ++metrics_.probes_failed;
            s->last_error = ec;
            if (!s->warned_failure) {
                spdlog::warn(
                    "{}: host replay: probe of port {} failed: {} (synjitsu's namespace "
                    "must route to the VM; still probing)",
                    s->ip, a.port, ec.message());
                s->warned_failure = true;
            }
            break;
        case probe_outcome::accepted:
            ++metrics_.probes_accepted;
            if (port == s->ports.end() || port->accepted) break;
            port->accepted = true;
            spdlog::info("{}: host replay: port {} accepts ({:.1f} ms after registration)", s->ip,
                         a.port, ms(now_ns - s->started_ns));
            // The other attempts on this port have nothing left to learn.
            cancel_attempts(s->ip, a.port, now_ns);
            break;
    }
    update_gauges();
    if (outcome != probe_outcome::accepted || s->take_ticket) return;
    const bool all = std::all_of(s->ports.begin(), s->ports.end(),
                                 [](const port_state& p) { return p.accepted; });
    if (!all) return;
    spdlog::info(
        "{}: probe success: port(s) {} accept at unix_ns={}, {:.1f} ms after "
        "registration, {} probe(s) ({} refused, {} timed out, {} failed)",
        s->ip, port_list(ports(s->ip)), now_ns, ms(now_ns - s->started_ns), s->attempts, s->refused,
        s->timed_out, s->failed);
    start_take(*s, false, now_ns);
}

void host_replay::start_take(session& s, bool give_up, std::uint64_t now_ns) {
    const std::uint64_t ticket = ++next_ticket_;
    s.take_ticket = ticket;
    s.retry_take_ns.reset();
    takes_.push_back(pending_take{ticket, s.ip, s.mac, give_up, now_ns});
    taker_.take(ticket, s.ip);
}

void host_replay::give_up(session& s, std::uint64_t now_ns) {
    ++metrics_.host_replay_give_ups;
    std::string accepted;
    for (const auto& p : s.ports) {
        if (!p.accepted) continue;
        if (!accepted.empty()) accepted += '+';
        accepted += std::to_string(p.port);
    }
    spdlog::warn(
        "{}: host replay gave up after {:.1f} s: port(s) {}, accepted {}, {} probe(s) "
        "({} refused, {} timed out, {} failed{}{}); taking and dropping its queue, "
        "clients will retransmit to the VM",
        s.ip, ms(now_ns - s.started_ns) / 1e3, port_list(ports(s.ip)),
        accepted.empty() ? "none" : accepted, s.attempts, s.refused, s.timed_out, s.failed,
        s.last_error ? ", last error: " : "", s.last_error ? s.last_error.message() : "");
    cancel_attempts(s.ip, std::nullopt, now_ns);
    start_take(s, true, now_ns);
}

void host_replay::on_take_done(std::uint64_t ticket, take_outcome outcome, std::uint64_t now_ns) {
    saw(now_ns);
    const auto it = std::find_if(takes_.begin(), takes_.end(),
                                 [&](const pending_take& t) { return t.ticket == ticket; });
    if (it == takes_.end()) return;
    const pending_take take = *it;
    takes_.erase(it);
    session* s = find(take.ip);
    if (s != nullptr && s->take_ticket != ticket) s = nullptr;  // a newer session
    if (s != nullptr) s->take_ticket.reset();

    if (!outcome.ok) {
        ++metrics_.host_replay_take_errors;
        if (take.give_up || s == nullptr) {
            spdlog::warn(
                "{}: host replay: taking the queue failed ({}): no longer served, its "
                "records are left in Xenstore",
                take.ip, outcome.error);
            if (s != nullptr) erase_session(take.ip);
            update_gauges();
            if (take.give_up && finished_) {
                finished_(host_replay_result{
                    host_replay_result::kind::abandoned, take.ip, take.mac, {}, now_ns});
            }
            return;
        }
        spdlog::warn("{}: host replay: taking the queue failed ({}): retrying in {:.1f} ms",
                     take.ip, outcome.error, ms(limits_.interval_ns));
        s->retry_take_ns = now_ns + limits_.interval_ns;
        changed();
        return;
    }
    if (s != nullptr) erase_session(take.ip);
    update_gauges();
    host_replay_result result;
    result.ip = take.ip;
    result.mac = take.mac;
    result.syns = std::move(outcome.syns);
    result.at_ns = now_ns;
    if (take.give_up) {
        result.how = host_replay_result::kind::gave_up;
        metrics_.host_replay_syns_dropped += result.syns.size();
        spdlog::info(
            "{}: host replay: queue taken at the give-up, {} SYN(s) dropped, {} malformed "
            "record(s) removed",
            take.ip, result.syns.size(), outcome.malformed);
    } else {
        result.how = host_replay_result::kind::replayed;
        ++metrics_.host_replays;
        spdlog::info(
            "{}: host replay: took {} queued SYN(s) ({} malformed removed) in {:.2f} ms, "
            "/ip/{} managed",
            take.ip, result.syns.size(), outcome.malformed, ms(now_ns - take.started_ns),
            take.ip.to_xenstore());
    }
    if (finished_) finished_(std::move(result));
}

void host_replay::update_gauges() {
    metrics_.host_replay_vms = sessions_.size();
    metrics_.probes_in_flight = attempts_.size();
}

void host_replay::changed() {
    if (schedule_changed_) schedule_changed_();
}

}  // namespace jitsu::synjitsu
