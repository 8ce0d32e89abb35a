#include "packet-injector.h"

#include <arpa/inet.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <net/if_arp.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "capture-error.h"
#include "netns.h"

namespace podspan {

namespace {

constexpr const char* kErrInjectNoSuchDevice = "PODSPAN_ERR_INJECT_NO_SUCH_DEVICE";
constexpr const char* kErrInjectPerm = "PODSPAN_ERR_INJECT_PERM";
constexpr const char* kErrInjectIfaceDown = "PODSPAN_ERR_INJECT_IFACE_DOWN";
constexpr const char* kErrInjectOpen = "PODSPAN_ERR_INJECT_OPEN";

// Frames per sendmmsg call (the kernel caps vlen at UIO_MAXIOV = 1024; 64 keeps the
// on-stack arrays small and already amortises the syscall).
constexpr unsigned kRun = 64;
// Longest single sleep while pacing, so cancel() is seen promptly.
constexpr int64_t kMaxSleepNs = 50'000'000;
constexpr int64_t kBackoffMinNs = 16'000;
constexpr int64_t kBackoffMaxNs = 1'000'000;

int64_t MonoNs() {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

void SleepUntil(int64_t ns) {
  struct timespec ts;
  ts.tv_sec = ns / 1'000'000'000;
  ts.tv_nsec = ns % 1'000'000'000;
  while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, nullptr) == EINTR) {
  }
}

Napi::Error OpenError(Napi::Env env, const char* code, const std::string& what, int err) {
  Napi::Error e = MakeError(env, code, what + (err != 0 ? std::string(": ") + std::strerror(err) : ""));
  if (err != 0) e.Set("errno", Napi::Number::New(env, err));
  return e;
}

class SendWorker : public Napi::AsyncWorker {
 public:
  SendWorker(Napi::Env env, PacketInjector* owner, Napi::Object ownerObj, const uint8_t* data, size_t dataLen,
             const double* meta, size_t first, size_t count, bool paced, int64_t baseNs, int64_t maxRetryNs)
      : Napi::AsyncWorker(env, "podspan.inject"),
        deferred_(Napi::Promise::Deferred::New(env)),
        owner_(owner),
        data_(data),
        dataLen_(dataLen),
        meta_(meta),
        first_(first),
        count_(count),
        paced_(paced),
        baseNs_(baseNs),
        maxRetryNs_(maxRetryNs) {
    ownerRef_ = Napi::Persistent(ownerObj);
  }

  Napi::Promise Promise() { return deferred_.Promise(); }
  void Keep(const Napi::Value& a, const Napi::Value& b) {
    dataRef_ = Napi::Persistent(a);
    metaRef_ = Napi::Persistent(b);
  }

  void Execute() override {
    // Timer slack of 1 ns on this pool thread: pacing sleeps end when asked, not up to
    // 50 us later (the default slack).
    if (paced_) prctl(PR_SET_TIMERSLACK, 1UL, 0, 0, 0);
    // Base 0: the schedule starts now, when this thread runs, not when JS queued the work
    // (the thread pool may start it milliseconds later; the first frame would then be late
    // and every later one early relative to it).
    if (paced_ && baseNs_ == 0) baseNs_ = MonoNs();
    PacketInjector::Result& r = res_;
    const int fd = owner_->fd();
    std::atomic<bool>& cancel = owner_->cancelFlag();
    struct mmsghdr msgs[kRun];
    struct iovec iov[kRun];
    size_t i = first_;
    const size_t end = first_ + count_;
    int64_t backoff = kBackoffMinNs;
    int64_t stuckSince = -1;  // when the frame at i first failed with EAGAIN/ENOBUFS
    while (i < end) {
      if (cancel.load(std::memory_order_relaxed)) {
        r.cancelled = true;
        break;
      }
      int64_t now = 0;
      if (paced_) {
        now = MonoNs();
        int64_t due = baseNs_ + static_cast<int64_t>(meta_[i * PacketInjector::kMetaCols + 2]);
        if (due > now) {
          SleepUntil(due - now > kMaxSleepNs ? now + kMaxSleepNs : due);
          continue;
        }
      }
      // A run of frames: everything up to kRun, or (paced) everything already due.
      unsigned n = 0;
      for (size_t j = i; j < end && n < kRun; j++, n++) {
        const double* row = meta_ + j * PacketInjector::kMetaCols;
        if (paced_ && n > 0 && baseNs_ + static_cast<int64_t>(row[2]) > now) break;
        size_t off = static_cast<size_t>(row[0]);
        size_t len = static_cast<size_t>(row[1]);
        if (off > dataLen_ || len > dataLen_ - off) {
          r.err = EINVAL;  // checked in JS before the call; never trust it here either
          r.next = j;
          return;
        }
        iov[n].iov_base = const_cast<uint8_t*>(data_ + off);
        iov[n].iov_len = len;
        std::memset(&msgs[n], 0, sizeof msgs[n]);
        msgs[n].msg_hdr.msg_iov = &iov[n];
        msgs[n].msg_hdr.msg_iovlen = 1;
      }
      int k = sendmmsg(fd, msgs, n, MSG_DONTWAIT);
      r.syscalls++;
      if (k > 0) {
        for (int m = 0; m < k; m++) r.bytes += iov[m].iov_len;
        r.sent += static_cast<uint64_t>(k);
        i += static_cast<size_t>(k);
        backoff = kBackoffMinNs;
        stuckSince = -1;
        continue;
      }
      int e = errno;
      if (k == 0) e = EAGAIN;  // not expected from sendmmsg; treat as "try again"
      if (e == EINTR) continue;
      if (e == EMSGSIZE) {
        r.tooBig++;
        i++;
        continue;
      }
      if (e == EAGAIN || e == EWOULDBLOCK || e == ENOBUFS) {
        int64_t t = MonoNs();
        if (stuckSince < 0) stuckSince = t;
        if (maxRetryNs_ >= 0 && t - stuckSince > maxRetryNs_) {
          r.gaveUp++;
          i++;
          stuckSince = -1;
          backoff = kBackoffMinNs;
          continue;
        }
        if (e == ENOBUFS) {
          r.retriesNoBufs++;
          SleepUntil(t + backoff);
          backoff = backoff * 2 > kBackoffMaxNs ? kBackoffMaxNs : backoff * 2;
        } else {
          r.retriesAgain++;
          struct pollfd p = {fd, POLLOUT, 0};
          poll(&p, 1, 10);
        }
        continue;
      }
      r.err = e;
      break;
    }
    r.next = i;
  }

  void OnOK() override {
    Napi::Env env = Env();
    Napi::HandleScope scope(env);
    owner_->inFlight().fetch_sub(1);
    Napi::Object o = Napi::Object::New(env);
    const PacketInjector::Result& r = res_;
    o.Set("sent", Napi::Number::New(env, static_cast<double>(r.sent)));
    o.Set("bytes", Napi::Number::New(env, static_cast<double>(r.bytes)));
    o.Set("tooBig", Napi::Number::New(env, static_cast<double>(r.tooBig)));
    o.Set("gaveUp", Napi::Number::New(env, static_cast<double>(r.gaveUp)));
    o.Set("retriesNoBufs", Napi::Number::New(env, static_cast<double>(r.retriesNoBufs)));
    o.Set("retriesAgain", Napi::Number::New(env, static_cast<double>(r.retriesAgain)));
    o.Set("syscalls", Napi::Number::New(env, static_cast<double>(r.syscalls)));
    o.Set("next", Napi::Number::New(env, static_cast<double>(r.next)));
    o.Set("errno", Napi::Number::New(env, r.err));
    o.Set("error", Napi::String::New(env, r.err != 0 ? std::strerror(r.err) : ""));
    o.Set("cancelled", Napi::Boolean::New(env, r.cancelled));
    o.Set("baseNs", Napi::BigInt::New(env, baseNs_));
    dataRef_.Reset();
    metaRef_.Reset();
    ownerRef_.Reset();
    deferred_.Resolve(o);
  }

  void OnError(const Napi::Error& e) override {
    owner_->inFlight().fetch_sub(1);
    dataRef_.Reset();
    metaRef_.Reset();
    ownerRef_.Reset();
    deferred_.Reject(e.Value());
  }

 private:
  Napi::Promise::Deferred deferred_;
  PacketInjector* owner_;
  Napi::ObjectReference ownerRef_;
  Napi::Reference<Napi::Value> dataRef_;
  Napi::Reference<Napi::Value> metaRef_;
  const uint8_t* data_;
  size_t dataLen_;
  const double* meta_;
  size_t first_;
  size_t count_;
  bool paced_;
  int64_t baseNs_;
  int64_t maxRetryNs_;
  PacketInjector::Result res_;
};

}  // namespace

Napi::Function PacketInjector::Init(Napi::Env env) {
  return DefineClass(env, "PacketInjector",
                     {
                         InstanceMethod<&PacketInjector::Send>("send"),
                         InstanceMethod<&PacketInjector::Cancel>("cancel"),
                         InstanceMethod<&PacketInjector::Close>("close"),
                         InstanceAccessor<&PacketInjector::GetMtu>("mtu"),
                         InstanceAccessor<&PacketInjector::GetIfIndex>("ifIndex"),
                         InstanceAccessor<&PacketInjector::GetHwType>("hwType"),
                     });
}

// new PacketInjector({ iface, netns?, qdiscBypass?, sndBufBytes? })
PacketInjector::PacketInjector(const Napi::CallbackInfo& info) : Napi::ObjectWrap<PacketInjector>(info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsObject()) throw MakeError(env, kErrArg, "PacketInjector: options object required");
  Napi::Object o = info[0].As<Napi::Object>();
  Napi::Value ifv = o.Get("iface");
  if (!ifv.IsString()) throw MakeError(env, kErrArg, "PacketInjector: iface is required");
  iface_ = ifv.As<Napi::String>().Utf8Value();
  if (iface_.empty() || iface_.size() >= IFNAMSIZ) {
    throw MakeError(env, kErrArg, "PacketInjector: iface must be 1 to 15 characters");
  }
  std::string netns;
  Napi::Value ns = o.Get("netns");
  if (ns.IsString()) netns = ns.As<Napi::String>().Utf8Value();
  bool bypass = o.Get("qdiscBypass").ToBoolean().Value();
  int sndBuf = 0;
  Napi::Value sb = o.Get("sndBufBytes");
  if (sb.IsNumber()) sndBuf = sb.As<Napi::Number>().Int32Value();

  int fd = -1;
  int err = 0;
  const char* code = nullptr;
  std::string what;
  int ifindex = 0, mtu = 0, hwType = 0;
  std::string nsErr = RunInNetns(netns, [&]() {
    auto fail = [&](const char* c, const std::string& w, int e) {
      code = c;
      what = w;
      err = e;
      if (fd >= 0) close(fd);
      fd = -1;
    };
    // Protocol 0: the socket is bound to the interface for sending and receives nothing.
    fd = socket(AF_PACKET, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
      int e = errno;
      fail(e == EPERM || e == EACCES ? kErrInjectPerm : kErrInjectOpen, "socket(AF_PACKET, SOCK_RAW)", e);
      return;
    }
    struct ifreq ifr = {};
    std::strncpy(ifr.ifr_name, iface_.c_str(), IFNAMSIZ - 1);
    if (ioctl(fd, SIOCGIFINDEX, &ifr) != 0) {
      int e = errno;
      fail(e == ENODEV ? kErrInjectNoSuchDevice : kErrInjectOpen, iface_ + ": no such interface", e == ENODEV ? 0 : e);
      return;
    }
    ifindex = ifr.ifr_ifindex;
    if (ioctl(fd, SIOCGIFFLAGS, &ifr) != 0) {
      fail(kErrInjectOpen, iface_ + ": SIOCGIFFLAGS", errno);
      return;
    }
    if ((ifr.ifr_flags & IFF_UP) == 0) {
      fail(kErrInjectIfaceDown, iface_ + ": the interface is down (ip link set " + iface_ + " up)", 0);
      return;
    }
    if (ioctl(fd, SIOCGIFMTU, &ifr) != 0) {
      fail(kErrInjectOpen, iface_ + ": SIOCGIFMTU", errno);
      return;
    }
    mtu = ifr.ifr_mtu;
    if (ioctl(fd, SIOCGIFHWADDR, &ifr) != 0) {
      fail(kErrInjectOpen, iface_ + ": SIOCGIFHWADDR", errno);
      return;
    }
    hwType = ifr.ifr_hwaddr.sa_family;
    if (hwType != ARPHRD_ETHER && hwType != ARPHRD_LOOPBACK) {
      fail(kErrInjectOpen, iface_ + ": not an Ethernet interface (ARPHRD " + std::to_string(hwType) +
                               "); frames can be injected on Ethernet, veth, tap (not tun) and loopback devices", 0);
      return;
    }
    struct sockaddr_ll sll = {};
    sll.sll_family = AF_PACKET;
    sll.sll_protocol = 0;
    sll.sll_ifindex = ifindex;
    if (bind(fd, reinterpret_cast<struct sockaddr*>(&sll), sizeof sll) != 0) {
      fail(kErrInjectOpen, iface_ + ": bind", errno);
      return;
    }
    if (bypass) {
      int on = 1;
      setsockopt(fd, SOL_PACKET, PACKET_QDISC_BYPASS, &on, sizeof on);
    }
    if (sndBuf > 0) {
      // SO_SNDBUFFORCE ignores wmem_max (needs CAP_NET_ADMIN); fall back to SO_SNDBUF.
      if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &sndBuf, sizeof sndBuf) != 0) {
        setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sndBuf, sizeof sndBuf);
      }
    }
  });
  if (!nsErr.empty()) throw MakeError(env, kErrNetns, nsErr);
  if (fd < 0) throw OpenError(env, code != nullptr ? code : kErrInjectOpen, what, err);
  fd_ = fd;
  ifindex_ = ifindex;
  mtu_ = mtu;
  hwType_ = hwType;
}

PacketInjector::~PacketInjector() {
  if (fd_ >= 0) close(fd_);
}

// send(data: Buffer, meta: Float64Array, first, count, baseNs: bigint, paced: boolean,
//      maxRetryMs: number (-1 = no limit)) -> Promise<result>
Napi::Value PacketInjector::Send(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (fd_ < 0 || closePending_) throw MakeError(env, kErrState, "PacketInjector is closed");
  if (inFlight_.load() > 0) throw MakeError(env, kErrState, "PacketInjector: one send at a time");
  if (info.Length() < 7 || !info[0].IsBuffer() || !info[1].IsTypedArray() ||
      info[1].As<Napi::TypedArray>().TypedArrayType() != napi_float64_array || !info[2].IsNumber() ||
      !info[3].IsNumber() || !info[4].IsBigInt() || !info[6].IsNumber()) {
    throw MakeError(env, kErrArg, "send(data: Buffer, meta: Float64Array, first, count, baseNs: bigint, paced, maxRetryMs)");
  }
  auto buf = info[0].As<Napi::Buffer<uint8_t>>();
  auto meta = info[1].As<Napi::Float64Array>();
  double firstD = info[2].As<Napi::Number>().DoubleValue();
  double countD = info[3].As<Napi::Number>().DoubleValue();
  size_t rows = meta.ElementLength() / kMetaCols;
  if (firstD < 0 || countD < 0 || firstD + countD > static_cast<double>(rows)) {
    throw MakeError(env, kErrArg, "send: first/count outside meta");
  }
  // Every row inside `data`, checked here on the JS thread before anything is sent (the
  // worker checks again; a row that changed meanwhile stops the batch with EINVAL).
  {
    const double* m = meta.Data();
    const double dataLen = static_cast<double>(buf.Length());
    for (size_t i = static_cast<size_t>(firstD), end = static_cast<size_t>(firstD + countD); i < end; i++) {
      double off = m[i * kMetaCols], len = m[i * kMetaCols + 1];
      if (!(off >= 0 && len >= 0 && off + len <= dataLen) || off != static_cast<double>(static_cast<uint64_t>(off)) ||
          len != static_cast<double>(static_cast<uint64_t>(len))) {
        throw MakeError(env, kErrArg, "send: row " + std::to_string(i) + " [" + std::to_string(off) + ", " + std::to_string(len) +
                                          "] outside data (" + std::to_string(buf.Length()) + " bytes)");
      }
    }
  }
  bool lossless = false;
  int64_t baseNs = info[4].As<Napi::BigInt>().Int64Value(&lossless);
  bool paced = info[5].ToBoolean().Value();
  double maxRetryMs = info[6].As<Napi::Number>().DoubleValue();
  int64_t maxRetryNs = maxRetryMs < 0 ? -1 : static_cast<int64_t>(maxRetryMs * 1e6);
  cancel_.store(false);
  auto* w = new SendWorker(env, this, Value(), buf.Data(), buf.Length(), meta.Data(), static_cast<size_t>(firstD),
                           static_cast<size_t>(countD), paced, baseNs, maxRetryNs);
  w->Keep(info[0], info[1]);
  Napi::Promise p = w->Promise();
  inFlight_.fetch_add(1);
  w->Queue();
  return p;
}

// Makes a running send stop at its next frame (resolves with cancelled = true).
Napi::Value PacketInjector::Cancel(const Napi::CallbackInfo& info) {
  cancel_.store(true);
  return info.Env().Undefined();
}

// Closes the socket. A send in flight is cancelled first; the caller awaits its promise
// before calling close() (native/index.ts does), so the descriptor is never closed under it.
Napi::Value PacketInjector::Close(const Napi::CallbackInfo& info) {
  cancel_.store(true);
  if (inFlight_.load() > 0) throw MakeError(info.Env(), kErrState, "PacketInjector.close(): a send is in flight");
  closePending_ = true;
  if (fd_ >= 0) {
    close(fd_);
    fd_ = -1;
  }
  return info.Env().Undefined();
}

Napi::Value PacketInjector::GetMtu(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), mtu_); }
Napi::Value PacketInjector::GetIfIndex(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), ifindex_); }
Napi::Value PacketInjector::GetHwType(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), hwType_); }

}  // namespace podspan
