// scheduler_probe: the schedule engine on the command line, for the Python
// cross-checks (croniter_diff.py, zone_offsets_check.py) and for people.
//
//   scheduler_probe next '<cron>' <zone> <start> <count>
//       prints the next <count> runs (ISO 8601 UTC and epoch seconds)
//   scheduler_probe --batch
//       reads tab-separated requests on stdin, one answer line each:
//         next    <zone> <start-epoch> <count> <cron>  -> "ok <epoch> ..." | "err <message>"
//         periods <zone> <from-epoch> <to-epoch>       -> "ok <begin>:<offset> ..." | "err ..."
//         sched   <interval-or-cron> <start-time> <zone> <after-epoch> <count>
//                                                      -> "ok <epoch> ..." | "err ..."
//       ("-" stands for an empty start time or zone).
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include "scheduler/cron_expr.h"
#include "scheduler/cron_schedule.h"
#include "scheduler/schedule.h"
#include "scheduler/time_zone.h"

namespace ms = mirror_snapshot::scheduler;

namespace {

std::vector<std::string> split_tabs(const std::string& line) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (true) {
    std::size_t tab = line.find('\t', start);
    out.push_back(line.substr(start, tab == std::string::npos ? std::string::npos : tab - start));
    if (tab == std::string::npos) break;
    start = tab + 1;
  }
  return out;
}

ms::Instant epoch(const std::string& s) { return ms::Instant{std::chrono::seconds{std::stoll(s)}}; }

std::string field(const std::string& s) { return s == "-" ? "" : s; }

// "err <message>". Strings here are built with += because GCC 12 at -O3
// reports a bogus -Wrestrict for "literal" + temporary (GCC bug 105329).
std::string err(const std::string& message) {
  std::string out = "err ";
  out += message;
  return out;
}

std::string run_next(const std::string& zone, const std::string& start, const std::string& count,
                     const std::string& cron) {
  auto z = ms::TimeZone::Locate(zone);
  if (!z.ok()) return err(z.status().message());
  auto e = ms::CronExpr::Parse(cron);
  if (!e.ok()) return err(e.status().message());
  ms::CronSchedule schedule(e.value(), z.value());
  ms::Instant t = epoch(start);
  std::string out = "ok";
  for (int k = 0, n = std::stoi(count); k < n; ++k) {
    auto next = schedule.NextAfter(t);
    if (!next.ok()) return out + " " + err(next.status().message());
    if (next.value() <= t) return err("not later than input");
    t = next.value();
    out += ' ';
    out += std::to_string(t.time_since_epoch().count());
  }
  return out;
}

std::string run_periods(const std::string& zone, const std::string& from, const std::string& to) {
  auto z = ms::TimeZone::Locate(zone);
  if (!z.ok()) return err(z.status().message());
  ms::Instant t = epoch(from), end = epoch(to);
  std::string out = "ok";
  while (t < end) {
    auto p = z.value().PeriodAt(t);
    out += ' ';
    out += std::to_string(std::max(p.begin, epoch(from)).time_since_epoch().count());
    out += ':';
    out += std::to_string(p.offset.count());
    if (p.end <= t) return err("period does not advance");
    t = p.end;
  }
  return out;
}

std::string run_sched(const std::vector<std::string>& f) {
  auto s = ms::Schedule::Parse(f[1], field(f[2]), field(f[3]));
  if (!s.ok()) return err(s.status().message());
  ms::Instant t = epoch(f[4]);
  std::string out = "ok";
  for (int k = 0, n = std::stoi(f[5]); k < n; ++k) {
    auto next = s.value().NextRunAfter(t);
    if (!next.ok()) return out + " " + err(next.status().message());
    t = next.value();
    out += ' ';
    out += std::to_string(t.time_since_epoch().count());
  }
  return out;
}

int batch() {
  std::string line;
  while (std::getline(std::cin, line)) {
    auto f = split_tabs(line);
    std::string answer;
    try {
      if (f[0] == "next" && f.size() == 5) answer = run_next(f[1], f[2], f[3], f[4]);
      else if (f[0] == "periods" && f.size() == 4) answer = run_periods(f[1], f[2], f[3]);
      else if (f[0] == "sched" && f.size() == 6) answer = run_sched(f);
      else answer = "err bad request";
    } catch (const std::exception& e) {  // only std::stoll on bad request numbers
      answer = std::string("err bad request: ") + e.what();
    }
    std::cout << answer << '\n' << std::flush;
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  if (args.size() == 1 && args[0] == "--batch") return batch();
  if (args.size() == 5 && args[0] == "next") {
    auto start = ms::ParseInstant(args[3]);
    ms::Instant t = start.ok() ? start.value() : epoch(args[3]);
    auto z = ms::TimeZone::Locate(args[2]);
    auto e = ms::CronExpr::Parse(args[1]);
    if (!z.ok() || !e.ok()) {
      std::fprintf(stderr, "%s\n", (!z.ok() ? z.status().message() : e.status().message()).c_str());
      return 2;
    }
    ms::CronSchedule schedule(e.value(), z.value());
    for (int k = 0, n = std::atoi(args[4].c_str()); k < n; ++k) {
      auto next = schedule.NextAfter(t);
      if (!next.ok()) {
        std::fprintf(stderr, "%s\n", next.status().message().c_str());
        return 1;
      }
      t = next.value();
      auto local = std::chrono::local_seconds{t.time_since_epoch() + z.value().offset_at(t)};
      std::printf("%s  %lld  local %s\n", ms::FormatInstant(t).c_str(),
                  static_cast<long long>(t.time_since_epoch().count()),
                  ms::FormatInstant(ms::Instant{local.time_since_epoch()}).substr(0, 19).c_str());
    }
    return 0;
  }
  std::fprintf(stderr, "usage: scheduler_probe next '<cron>' <zone> <start> <count> | --batch\n");
  return 2;
}
