#pragma once
// What the booter keeps per VM while a masking mode waits for a signal (a Xenstore watch,
// a port probe, a timer): something it can cancel when the VM stops or jitsu-dns exits.

namespace jitsu::dns {

class pending_signal {
  public:
    virtual ~pending_signal() = default;
    // Ends the wait now: nothing keeps running for it and its callback is never called.
    virtual void cancel() = 0;
};

}  // namespace jitsu::dns
