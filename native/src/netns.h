// Running a setup step inside another network namespace.
//
// setns(CLONE_NEWNET) changes the namespace of the calling thread only, and sockets keep
// the namespace they were created in. So a pcap handle or raw socket opened on a short-lived
// helper thread that joined the namespace keeps working there when read from any thread,
// while the Node.js threads never leave their own namespace.
#pragma once
#include <functional>
#include <string>

namespace podspan {

// `netns` is a name under /var/run/netns or an absolute path (/proc/PID/ns/net).
// Empty: runs `fn` on the calling thread. Returns "" on success or an error text
// (the namespace could not be entered; `fn` did not run).
std::string RunInNetns(const std::string& netns, const std::function<void()>& fn);

}  // namespace podspan
