// Frame injection onto one interface: an AF_PACKET SOCK_RAW socket bound to the interface
// (protocol 0, so it receives nothing), frames handed to the kernel whole, Ethernet header
// included, with sendmmsg(2): one system call per run of up to 64 frames.
//
// Why AF_PACKET and not pcap_inject(): libpcap's inject is a send(2) per frame on the same
// kind of socket, one syscall per frame; sendmmsg gives the same result in fewer calls.
// Frames still pass the device's qdisc (and the taps on it: tcpdump on the sending
// interface sees them) unless qdiscBypass is set (PACKET_QDISC_BYPASS).
//
// One JS call per batch: send(data, meta, first, count, baseNs, opts) runs on a libuv
// worker thread and resolves with counters. `data` is one Buffer, `meta` a Float64Array of
// rows [offset, len, dueNs]; the addon only reads them, and keeps both alive until the
// promise settles. With `paced`, row i is sent no earlier than baseNs + dueNs on
// CLOCK_MONOTONIC (the clock of process.hrtime.bigint()); baseNs 0 means "when the worker
// starts", and the base used is returned. EAGAIN (send buffer full) waits
// for POLLOUT, ENOBUFS (device queue full) backs off 16 us .. 1 ms; both are counted, and a
// frame that cannot go within maxRetryMs is given up and counted. EMSGSIZE (a frame over
// the interface MTU + link header) skips that frame and counts it. Any other error stops
// the batch and is returned with its errno.
#pragma once
#include <napi.h>

#include <atomic>
#include <cstdint>
#include <string>

namespace podspan {

class PacketInjector : public Napi::ObjectWrap<PacketInjector> {
 public:
  static Napi::Function Init(Napi::Env env);
  explicit PacketInjector(const Napi::CallbackInfo& info);
  ~PacketInjector() override;

  static constexpr size_t kMetaCols = 3;

  // What one batch did; filled on the worker thread.
  struct Result {
    uint64_t sent = 0;
    uint64_t bytes = 0;
    uint64_t tooBig = 0;
    uint64_t gaveUp = 0;
    uint64_t retriesNoBufs = 0;
    uint64_t retriesAgain = 0;
    uint64_t syscalls = 0;
    uint64_t next = 0;  // index of the first row not handled
    int err = 0;        // errno that stopped the batch, 0 if none
    bool cancelled = false;
  };

  int fd() const { return fd_; }
  std::atomic<bool>& cancelFlag() { return cancel_; }
  std::atomic<int>& inFlight() { return inFlight_; }

 private:
  Napi::Value Send(const Napi::CallbackInfo& info);
  Napi::Value Cancel(const Napi::CallbackInfo& info);
  Napi::Value Close(const Napi::CallbackInfo& info);
  Napi::Value GetMtu(const Napi::CallbackInfo& info);
  Napi::Value GetIfIndex(const Napi::CallbackInfo& info);
  Napi::Value GetHwType(const Napi::CallbackInfo& info);

  int fd_ = -1;
  int ifindex_ = 0;
  int mtu_ = 0;
  int hwType_ = 0;
  std::string iface_;
  std::atomic<bool> cancel_{false};
  std::atomic<int> inFlight_{0};
  bool closePending_ = false;
};

}  // namespace podspan
