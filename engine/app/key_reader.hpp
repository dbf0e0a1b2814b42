#pragma once
// Single key presses from a terminal, for the interactive controls of `replay`
// and `run` (pause, speed, quit). Inactive (and harmless) when stdin is not a
// terminal, so scripted runs behave exactly as before.
#include <termios.h>

namespace te::app {

// Raw (non-canonical, no echo) stdin while alive, when stdin is a terminal.
// Ctrl-C still raises SIGINT (ISIG is kept).
class KeyReader {
 public:
  KeyReader();
  ~KeyReader();
  KeyReader(const KeyReader&) = delete;
  KeyReader& operator=(const KeyReader&) = delete;
  bool active() const noexcept { return active_; }

  // Waits up to timeout_ms for a key; 0 when none (sleeps the timeout when inactive).
  char wait(int timeout_ms) const;

 private:
  termios saved_{};
  bool active_ = false;
};

}  // namespace te::app
