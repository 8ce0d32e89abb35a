#include "netns.h"

#include <fcntl.h>
#include <sched.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <thread>

namespace podspan {

std::string RunInNetns(const std::string& netns, const std::function<void()>& fn) {
  if (netns.empty()) {
    fn();
    return "";
  }
  std::string path = netns.find('/') == std::string::npos ? "/var/run/netns/" + netns : netns;
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    return "cannot open network namespace " + path + ": " + std::strerror(errno);
  }
  std::string err;
  // A fresh thread, so no Node.js or libuv thread ever changes namespace.
  std::thread helper([&]() {
    if (setns(fd, CLONE_NEWNET) != 0) {
      err = "cannot enter network namespace " + path + ": " + std::strerror(errno);
      return;
    }
    fn();
  });
  helper.join();
  close(fd);
  return err;
}

}  // namespace podspan
