#include "tools/kamctl/render.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cmath>
#include <nlohmann/json.hpp>

#include "absl/strings/str_join.h"
#include "absl/time/time.h"
#include "base/strings.h"
#include "domain/metrics.h"
#include "google/protobuf/text_format.h"
#include "google/protobuf/util/json_util.h"
#include "kam/v1/commands.pb.h"
#include "kam/v1/governance_service.pb.h"
#include "kam/v1/history_service.pb.h"
#include "kam/v1/metrics_service.pb.h"
#include "personal/seal.h"
#include "tools/kamctl/fields.h"
#include "tools/kamctl/text.h"

namespace kam::kamctl {
namespace {

using google::protobuf::FieldDescriptor;
using google::protobuf::Message;
using google::protobuf::Reflection;

struct Colours {
  explicit Colours(const Style& s)
      : bold(s.colour ? "\033[1m" : ""),
        dim(s.colour ? "\033[2m" : ""),
        red(s.colour ? "\033[31m" : ""),
        green(s.colour ? "\033[32m" : ""),
        yellow(s.colour ? "\033[33m" : ""),
        reset(s.colour ? "\033[0m" : "") {}
  const char* bold;
  const char* dim;
  const char* red;
  const char* green;
  const char* yellow;
  const char* reset;
};

// Display width: UTF-8 code points, ANSI escape sequences excluded.
std::size_t Width(std::string_view s) {
  std::size_t w = 0;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\033') {
      while (i < s.size() && s[i] != 'm') ++i;
      continue;
    }
    if ((static_cast<unsigned char>(s[i]) & 0xC0) != 0x80) ++w;
  }
  return w;
}

// Cuts plain text to `max` code points with an ellipsis (cells with colour are not cut).
std::string Cut(const std::string& s, std::size_t max) {
  if (s.find('\033') != std::string::npos || Width(s) <= max) return s;
  std::string out;
  std::size_t w = 0;
  for (std::size_t i = 0; i < s.size(); ++i) {
    const bool lead = (static_cast<unsigned char>(s[i]) & 0xC0) != 0x80;
    if (lead && ++w > max - 1) break;
    out += s[i];
  }
  return out + "…";
}

std::string OneLine(std::string s) {
  std::replace(s.begin(), s.end(), '\n', ' ');
  std::replace(s.begin(), s.end(), '\t', ' ');
  return s;
}

std::string Percent(double ratio) { return base::StrCat(std::lround(ratio * 1000) / 10.0, "%"); }

std::string Fixed(double v, int decimals) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
  return buf;
}

std::string Money(int64_t minor, const std::string& currency) {
  return domain::FormatMoney(minor, currency);
}

std::string MoneyD(double minor, const std::string& currency) {
  if (!std::isfinite(minor) || std::fabs(minor) > 9e18) return "—";
  return domain::FormatMoney(static_cast<int64_t>(std::llround(minor)), currency);
}

template <typename E>
std::string EnumText(const google::protobuf::EnumDescriptor* d, E value) {
  const auto* v = d->FindValueByNumber(static_cast<int>(value));
  return v == nullptr ? std::to_string(static_cast<int>(value)) : EnumShortName(v);
}

template <typename R, typename E>
std::string EnumList(const google::protobuf::EnumDescriptor* d, const R& values) {
  std::vector<std::string> out;
  for (auto v : values) out.push_back(EnumText(d, static_cast<E>(v)));
  return Join(out, ", ");
}

std::string OrDash(const std::string& s) { return s.empty() ? "—" : s; }

// --- Commands ------------------------------------------------------------------------

const v1::CommandResult* ResultOf(const Message& response) {
  const FieldDescriptor* f = response.GetDescriptor()->FindFieldByName("result");
  if (f == nullptr || f->message_type() == nullptr ||
      f->message_type()->full_name() != "kam.v1.CommandResult") {
    return nullptr;
  }
  return static_cast<const v1::CommandResult*>(&response.GetReflection()->GetMessage(response, f));
}

std::string RenderResult(const std::string& command, const v1::CommandResult& r, const Style& s) {
  Colours c(s);
  std::string out;
  if (r.dry_run()) {
    base::StrAppend(&out, c.green, "✓", c.reset, " ", command, ": would be accepted (dry run, ",
                    "nothing written); '", r.aggregate_id(), "' would be at version ",
                    r.aggregate_version(), "\n");
    return out;
  }
  if (r.deduplicated()) {
    base::StrAppend(&out, c.yellow, "=", c.reset, " ", command,
                    ": already done by an earlier call with this request id; nothing new "
                    "written ('",
                    r.aggregate_id(), "' version ", r.aggregate_version(), ")\n");
  } else {
    base::StrAppend(&out, c.green, "✓", c.reset, " ", command, ": '", r.aggregate_id(),
                    "' is now at version ", r.aggregate_version(), "\n");
  }
  if (r.has_position()) {
    base::StrAppend(&out, c.dim, "  position ", PositionText(r.position()),
                    "  (read your write: --consistency.at-least ", PositionText(r.position()), ")",
                    c.reset, "\n");
  }
  return out;
}

std::string RenderBatch(const v1::RecordMetricBatchResponse& r, const Style& s) {
  Colours c(s);
  std::string out = base::StrCat(r.recorded(), " recorded, ", r.rejected(), " rejected\n");
  Table t({"#", "outcome", "detail"});
  for (const auto& o : r.outcomes()) {
    if (o.code() == 0) continue;
    t.Row({std::to_string(o.index()), base::StrCat(c.red, "rejected", c.reset),
           OneLine(o.error()) + (o.dead_lettered() ? " (dead-lettered)" : "")});
  }
  if (!t.empty()) out += t.Render(s, 100);
  return out;
}

// --- Queries -------------------------------------------------------------------------

std::string RenderProgramme(const v1::ProgrammeView& p, const Style& s) {
  Colours c(s);
  std::string out = base::StrCat(c.bold, p.name(), c.reset, " (", p.programme_id(), ")\n");
  base::StrAppend(&out,
                  p.champions_size() > 1 ? "  champions           " : "  champion            ",
                  OrDash(absl::StrJoin(p.champions(), ", ")), "\n");
  base::StrAppend(&out, "  key accounts        ", p.admitted_key_accounts(), " admitted (bounds ",
                  p.min_key_accounts(), "-", p.max_key_accounts(), ")\n");
  base::StrAppend(&out, "  criteria version    ", p.criteria_version(), "\n");
  base::StrAppend(&out, "  days of             ", OrDash(p.time_zone()), "\n");
  base::StrAppend(&out, "  sponsor coverage    ", Percent(p.sponsor_coverage()), "\n");
  const auto& pp = p.parameters();
  base::StrAppend(&out, "  parameters          at most ", pp.max_accounts_per_sponsor(),
                  " accounts per sponsor; visits every ", pp.sponsor_visit_cadence_days(),
                  " days (+", pp.sponsor_grace_days(), " grace); minimum tenure ",
                  pp.min_tenure_days(), " days; reviews every ", pp.review_cadence_days(),
                  " days; discount rate ", Percent(pp.discount_rate()), "\n");
  base::StrAppend(&out, "  events folded       ", p.events_folded(), "\n\n");
  Table accounts({"account", "name", "stage", "sponsor", "manager", "score", "admitted",
                  "last visit", "open training"});
  for (const auto& a : p.accounts()) {
    std::vector<std::string> plan;
    for (const auto& item : a.open_training_plan()) {
      plan.push_back(
          base::StrCat(EnumText(v1::Skill_descriptor(), item.skill()), " by ", item.due_by()));
    }
    std::string visit = OrDash(a.last_sponsor_visit());
    if (a.sponsor_visit_overdue()) visit = base::StrCat(c.red, visit, " overdue", c.reset);
    accounts.Row({a.account_id(), a.name(), a.stage(), OrDash(a.sponsor()), OrDash(a.manager()),
                  a.weighted_score() > 0 ? Fixed(a.weighted_score(), 2) : "—",
                  a.admitted_on().empty()
                      ? "—"
                      : a.admitted_on() + (a.admitted_as_exception() ? " (exception)" : ""),
                  visit, plan.empty() ? "—" : Join(plan, "; ")});
  }
  base::StrAppend(&out, c.bold, "Accounts", c.reset, "\n", accounts.Render(s), "\n");
  Table people({"person", "name", "functions", "skills", "staff trained", "principal"});
  for (const auto& person : p.people()) {
    people.Row({person.person_id(), person.name(),
                EnumList<decltype(person.functions()), v1::PersonFunction>(
                    v1::PersonFunction_descriptor(), person.functions()),
                OrDash(EnumList<decltype(person.skills()), v1::Skill>(v1::Skill_descriptor(),
                                                                      person.skills())),
                person.staff_trained() ? "yes" : "no", OrDash(person.principal())});
  }
  base::StrAppend(&out, c.bold, "People", c.reset, "\n", people.Render(s));
  if (p.commitments_size() > 0) {
    Table commitments({"commitment", "account", "owner", "due by", "status"});
    for (const auto& m : p.commitments()) {
      commitments.Row(
          {m.commitment_id(), m.account_id(), m.owner_person_id(), m.due_by(), m.status()});
    }
    base::StrAppend(&out, "\n", c.bold, "Commitments", c.reset, "\n", commitments.Render(s));
  }
  return out;
}

std::string RenderScorecard(const v1::GetScorecardResponse& r, const Style& s) {
  Colours c(s);
  std::string out;
  for (const auto& step : r.steps()) {
    const bool clean = step.flags().empty();
    base::StrAppend(&out, clean ? c.green : c.yellow, clean ? "✓" : "⚑", c.reset, " ", c.bold,
                    "Step ", step.step(), " ", step.title(), c.reset, "  ", c.dim,
                    step.rules_held_size(), " rules held", c.reset, "\n");
    if (!clean) {
      Table flags({"rule", "subject", "why"});
      for (const auto& f : step.flags()) flags.Row({f.rule(), f.subject(), OneLine(f.detail())});
      std::string table = flags.Render(s, 90);
      std::string indented;
      for (std::string_view line : Split(table, '\n')) {
        base::StrAppend(&indented, "    ", line, "\n");
      }
      out += indented;
    }
  }
  base::StrAppend(&out, "history ",
                  r.history_intact() ? base::StrCat(c.green, "intact", c.reset)
                                     : base::StrCat(c.red, "BROKEN (run kamctl verify)", c.reset),
                  "\n");
  return out;
}

std::string RenderRegister(const v1::GetRegisterResponse& r, const Style& s) {
  Colours c(s);
  std::string out = base::StrCat(
      r.admissions(), " admissions (", r.exceptions(), " as exceptions, override rate ",
      Percent(r.override_rate()), "), ", r.retirements(), " retirements (", r.admit_then_demote(),
      " inside the minimum tenure, ", Percent(r.admit_then_demote_rate()), ")\n\n");
  Table t({"when", "account", "decision", "by", "score", "nominated by", "notes"});
  for (const auto& e : r.entries()) {
    std::string notes = e.justification();
    if (e.exception()) notes = base::StrCat(c.yellow, "exception", c.reset, ": ", notes);
    if (e.within_min_tenure()) {
      notes = base::StrCat(c.red, "within minimum tenure (", e.tenure_days(), " days)", c.reset,
                           notes.empty() ? "" : "; ", notes);
    }
    t.Row({LocalTime(e.occurred_at()), e.account_id(), e.decision(), e.decided_by(),
           e.weighted_score() > 0
               ? base::StrCat(Fixed(e.weighted_score(), 2), " / ", Fixed(e.threshold(), 2))
               : "—",
           OrDash(e.nominated_by()), OrDash(OneLine(notes))});
  }
  out += t.Render(s);
  return out;
}

std::string RenderEconomics(const v1::GetEconomicsResponse& e, const Style& s) {
  Colours c(s);
  if (e.years().empty()) return "no metrics recorded for this account yet\n";
  Table t({"year", "revenue", "gross margin", "cost-to-serve", "contribution", "retention"});
  for (const auto& y : e.years()) {
    std::string contribution = Money(y.contribution(), e.currency());
    if (y.contribution() < 0) contribution = base::StrCat(c.red, contribution, c.reset);
    t.Row({std::to_string(y.year()), Money(y.revenue(), e.currency()),
           Money(y.gross_margin(), e.currency()), Money(y.cost_to_serve(), e.currency()),
           contribution, y.has_retention_rate() ? Percent(y.retention_rate()) : "—"});
  }
  std::string out = t.Render(s);
  if (e.has_clv()) {
    base::StrAppend(
        &out, "\ncustomer lifetime value ", c.bold, MoneyD(e.clv(), e.currency()), c.reset, "  ",
        c.dim, e.formula(), " with m = ", MoneyD(e.margin_m(), e.currency()),
        ", r = ", Percent(e.retention_r()), ", d = ", Percent(e.discount_d()), c.reset, "\n");
  } else {
    base::StrAppend(&out,
                    "\ncustomer lifetime value: not computable yet (needs a contribution "
                    "and a retention rate)\n");
  }
  for (const auto& f : e.flags()) {
    base::StrAppend(&out, c.yellow, "⚑ ", f.rule(), c.reset, " ", f.subject(), ": ", f.detail(),
                    "\n");
  }
  return out;
}

std::string RenderPortfolio(const v1::GetPortfolioEconomicsResponse& r, const Style& s) {
  Colours c(s);
  Table t({"account", "name", "stage", "latest year", "contribution", "lifetime value"});
  for (const auto& a : r.accounts()) {
    const auto& e = a.economics();
    std::string year = "—";
    std::string contribution = "—";
    if (!e.years().empty()) {
      const auto& y = e.years(e.years_size() - 1);
      year = std::to_string(y.year());
      contribution = Money(y.contribution(), e.currency());
      if (y.contribution() < 0) contribution = base::StrCat(c.red, contribution, c.reset);
    }
    t.Row({a.account_id(), a.name(), a.stage(), year, contribution,
           e.has_clv() ? MoneyD(e.clv(), e.currency()) : "—"});
  }
  return t.Render(s);
}

std::string RenderProgrammes(const v1::ListProgrammesResponse& r, const Style& s) {
  std::string out = base::StrCat("you are ", r.principal(), " (", Join(r.roles(), ", "), ")\n\n");
  Table t({"programme", "name", "key accounts", "bounds"});
  for (const auto& p : r.programmes()) {
    t.Row({p.programme_id(), p.name(), std::to_string(p.admitted_key_accounts()),
           base::StrCat(p.min_key_accounts(), "-", p.max_key_accounts())});
  }
  return out + t.Render(s);
}

std::string RenderVerify(const v1::VerifyHistoryResponse& r, const Style& s) {
  Colours c(s);
  std::string out;
  if (r.intact()) {
    out = base::StrCat(c.green, "✓ intact", c.reset, ": ", r.events_checked(),
                       " events checked, every hash and link holds\n");
    if (r.tip_version() > 0) {
      base::StrAppend(&out, "tip: version ", r.tip_version(), " sha256 ", r.tip_hash(), "\n", c.dim,
                      "(keep this line outside the platform: a later verify that does not reach "
                      "it means the history was cut back)",
                      c.reset, "\n");
    }
  } else {
    out = base::StrCat(c.red, "✗ BROKEN", c.reset,
                       r.first_break_version() > 0
                           ? base::StrCat(" at version ", r.first_break_version())
                           : std::string(),
                       r.first_break_position().topic().empty()
                           ? std::string()
                           : base::StrCat(" (", PositionText(r.first_break_position()), ")"),
                       ": ", r.first_break(), "\n", r.events_checked(), " events checked\n");
  }
  if (r.anchored_version() > 0) {
    base::StrAppend(&out, "anchored: version ", r.anchored_version(),
                    " by the writer's signed checkpoint of ", r.anchored_at(), "\n");
  }
  if (r.quarantined_size() > 0) {
    Table t({"quarantined record", "why", "acknowledged"});
    for (const auto& q : r.quarantined()) {
      t.Row({q.record().empty() ? "?" : q.record(), q.problem(),
             q.acknowledged() ? "yes (four-eyes)" : "no"});
    }
    base::StrAppend(&out, t.Render(s, 100));
  }
  return out;
}

std::string RenderEntries(const google::protobuf::RepeatedPtrField<v1::HistoryEntry>& entries,
                          const std::string& next, const Style& s) {
  Colours c(s);
  Table t({"recorded", "occurred", "version", "event", "by", "what"});
  for (const auto& e : entries) {
    const v1::EventEnvelope env = Unsealed(e.envelope());
    // A late entry shows its claimed time as a claim, with the reason it came late.
    t.Row({LocalTime(env.recorded_at()),
           env.late_reason().empty() ? LocalTime(env.occurred_at())
                                     : base::StrCat("late: ", LocalTime(env.occurred_at())),
           base::StrCat(env.aggregate_id(), " v", env.aggregate_version()), EventName(env),
           env.actor(),
           env.late_reason().empty()
               ? EventSummary(env)
               : base::StrCat(EventSummary(env), " (entered late: ", env.late_reason(), ")")});
  }
  std::string out = entries.empty() ? std::string("no events\n") : t.Render(s, 70);
  if (!next.empty()) {
    base::StrAppend(&out, c.dim, "more: --page-token ", next, c.reset, "\n");
  }
  return out;
}

std::string RenderStatus(const v1::GetProjectionStatusResponse& r, const Style& s) {
  Colours c(s);
  std::string out =
      base::StrCat("read model: ",
                   r.caught_up() ? base::StrCat(c.green, "caught up", c.reset)
                                 : base::StrCat(c.yellow, "catching up", c.reset),
                   ", lag ", r.lag(), ", ", r.records_applied_since_start(),
                   " records applied since start, ", r.records_folded_total(), " folded in all\n");
  if (!r.error().empty()) base::StrAppend(&out, c.red, "error: ", r.error(), c.reset, "\n");
  // The digest's first 16 hex digits are plenty to compare two replicas by eye; --json has it all.
  Table t({"topic", "partition", "next offset", "end of log", "lag", "fold digest"});
  for (const auto& p : r.partitions()) {
    t.Row({p.topic(), std::to_string(p.partition()), std::to_string(p.next_offset()),
           std::to_string(p.end_offset()), std::to_string(p.lag()),
           p.fold_digest().empty() ? "-" : p.fold_digest().substr(0, 16)});
  }
  return out + t.Render(s);
}

// Any message: scalars as "name: value" lines, repeated messages as tables of their scalars.
void Generic(const Message& m, const std::string& indent, std::string& out, const Style& s) {
  const Reflection* r = m.GetReflection();
  std::vector<const FieldDescriptor*> fields;
  r->ListFields(m, &fields);
  for (const FieldDescriptor* f : fields) {
    if (f->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE) {
      if (f->is_repeated()) {
        base::StrAppend(&out, indent, f->name(), ":\n");
        for (int i = 0; i < r->FieldSize(m, f); ++i) {
          base::StrAppend(&out, indent, "  -\n");
          Generic(r->GetRepeatedMessage(m, f, i), indent + "    ", out, s);
        }
      } else if (f->message_type()->full_name() == "google.protobuf.Timestamp") {
        base::StrAppend(
            &out, indent, f->name(), ": ",
            LocalTime(static_cast<const google::protobuf::Timestamp&>(r->GetMessage(m, f))), "\n");
      } else {
        base::StrAppend(&out, indent, f->name(), ":\n");
        Generic(r->GetMessage(m, f), indent + "  ", out, s);
      }
      continue;
    }
    std::string value;
    const int n = f->is_repeated() ? r->FieldSize(m, f) : 1;
    std::vector<std::string> items;
    for (int i = 0; i < n; ++i) {
      std::string v;
      if (f->cpp_type() == FieldDescriptor::CPPTYPE_ENUM) {
        v = EnumShortName(f->is_repeated() ? r->GetRepeatedEnum(m, f, i) : r->GetEnum(m, f));
      } else {
        google::protobuf::TextFormat::PrintFieldValueToString(m, f, f->is_repeated() ? i : -1, &v);
      }
      items.push_back(v);
    }
    base::StrAppend(&out, indent, f->name(), ": ", Join(items, ", "), "\n");
  }
}

void YamlFrom(const nlohmann::json& j, YAML::Emitter& e) {
  if (j.is_object()) {
    e << YAML::BeginMap;
    for (const auto& [k, v] : j.items()) {
      e << YAML::Key << k << YAML::Value;
      YamlFrom(v, e);
    }
    e << YAML::EndMap;
  } else if (j.is_array()) {
    e << YAML::BeginSeq;
    for (const auto& v : j) YamlFrom(v, e);
    e << YAML::EndSeq;
  } else if (j.is_string()) {
    e << YAML::DoubleQuoted << j.get<std::string>();
  } else if (j.is_boolean()) {
    e << j.get<bool>();
  } else if (j.is_number_integer()) {
    e << j.get<int64_t>();
  } else if (j.is_number_unsigned()) {
    e << j.get<uint64_t>();
  } else if (j.is_number_float()) {
    e << j.get<double>();
  } else {
    e << YAML::Null;
  }
}

}  // namespace

std::string Table::Render(const Style& style, std::size_t max_cell) const {
  Colours c(style);
  std::vector<std::size_t> widths(headers_.size(), 0);
  std::vector<std::vector<std::string>> cells;
  for (std::size_t i = 0; i < headers_.size(); ++i) widths[i] = Width(headers_[i]);
  for (const auto& row : rows_) {
    std::vector<std::string> r;
    for (std::size_t i = 0; i < headers_.size(); ++i) {
      std::string cell = i < row.size() ? Cut(OneLine(row[i]), max_cell) : "";
      widths[i] = std::max(widths[i], Width(cell));
      r.push_back(std::move(cell));
    }
    cells.push_back(std::move(r));
  }
  auto line = [&](const std::vector<std::string>& r, bool header) {
    std::string out;
    for (std::size_t i = 0; i < r.size(); ++i) {
      const bool last = i + 1 == r.size();
      if (header) out += c.bold;
      out += r[i];
      if (header) out += c.reset;
      if (!last) out += std::string(widths[i] - Width(r[i]) + 2, ' ');
    }
    return out + "\n";
  };
  std::string out = line(headers_, true);
  for (const auto& r : cells) out += line(r, false);
  return out;
}

std::string LocalTime(const google::protobuf::Timestamp& t) {
  if (t.seconds() == 0 && t.nanos() == 0) return "—";
  const absl::Time time = absl::FromUnixSeconds(t.seconds()) + absl::Nanoseconds(t.nanos());
  return absl::FormatTime("%Y-%m-%d %H:%M %Z", time, absl::LocalTimeZone());
}

std::string PositionText(const v1::LogPosition& p) {
  return base::StrCat(p.topic(), "/", p.partition(), "@", p.offset());
}

v1::EventEnvelope Unsealed(const v1::EventEnvelope& envelope) {
  v1::EventEnvelope out = envelope;
  personal::ForEachPersonalValue(
      out, [](const google::protobuf::FieldDescriptor&, std::string_view, std::string& value) {
        std::string key_id, sealed;
        if (personal::ParseToken(value, &key_id, &sealed)) {
          value = base::StrCat("[sealed: ", key_id, "]");
        }
      });
  return out;
}

std::string EventName(const v1::EventEnvelope& envelope) {
  const Message& event = envelope.event();
  const auto* oneof = event.GetDescriptor()->oneof_decl(0);
  if (oneof == nullptr) return "?";
  const FieldDescriptor* f = event.GetReflection()->GetOneofFieldDescriptor(event, oneof);
  return f == nullptr ? "?" : f->message_type()->name();
}

std::string EventSummary(const v1::EventEnvelope& envelope) {
  const Message& event = envelope.event();
  const auto* oneof = event.GetDescriptor()->oneof_decl(0);
  const FieldDescriptor* f =
      oneof == nullptr ? nullptr : event.GetReflection()->GetOneofFieldDescriptor(event, oneof);
  if (f == nullptr) return "";
  const Message& body = event.GetReflection()->GetMessage(event, f);
  std::vector<std::string> parts;
  std::vector<const FieldDescriptor*> fields;
  body.GetReflection()->ListFields(body, &fields);
  for (const FieldDescriptor* field : fields) {
    if (field->name() == "programme_id") continue;
    std::string v;
    if (field->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE) {
      if (field->is_repeated()) {
        v = base::StrCat(body.GetReflection()->FieldSize(body, field), " items");
      } else if (field->message_type()->full_name() == "kam.v1.Money") {
        const auto& money =
            static_cast<const v1::Money&>(body.GetReflection()->GetMessage(body, field));
        v = Money(money.minor_units(), money.currency());
      } else {
        continue;
      }
    } else if (field->cpp_type() == FieldDescriptor::CPPTYPE_ENUM && !field->is_repeated()) {
      v = EnumShortName(body.GetReflection()->GetEnum(body, field));
    } else if (field->is_repeated()) {
      v = base::StrCat(body.GetReflection()->FieldSize(body, field), " items");
    } else {
      google::protobuf::TextFormat::PrintFieldValueToString(body, field, -1, &v);
      if (v.size() >= 2 && v.front() == '"') v = v.substr(1, v.size() - 2);
    }
    parts.push_back(base::StrCat(Kebab(field->name()), " ", v));
  }
  return OneLine(Join(parts, " · "));
}

std::string ToJson(const Message& message, bool pretty) {
  std::string json;
  google::protobuf::util::JsonPrintOptions options;
  options.add_whitespace = pretty;
  options.preserve_proto_field_names = true;
  options.always_print_primitive_fields = true;
  (void)google::protobuf::util::MessageToJsonString(message, &json, options);
  if (pretty && (json.empty() || json.back() != '\n')) json += "\n";
  return json;
}

std::string JsonToYaml(const std::string& json) {
  const nlohmann::json j = nlohmann::json::parse(json);
  YAML::Emitter e;
  YamlFrom(j, e);
  return std::string(e.c_str()) + "\n";
}

std::string ToYaml(const Message& message) { return JsonToYaml(ToJson(message, false)); }

std::string Render(const std::string& command, const Message& response, const std::string& output,
                   const Style& style) {
  if (output == "json") return ToJson(response);
  if (output == "yaml") return ToYaml(response);
  if (const v1::CommandResult* r = ResultOf(response)) return RenderResult(command, *r, style);
  if (auto* m = dynamic_cast<const v1::RecordMetricBatchResponse*>(&response)) {
    return RenderBatch(*m, style);
  }
  if (auto* m = dynamic_cast<const v1::GetProgrammeResponse*>(&response)) {
    return RenderProgramme(m->programme(), style);
  }
  if (auto* m = dynamic_cast<const v1::GetScorecardResponse*>(&response)) {
    return RenderScorecard(*m, style);
  }
  if (auto* m = dynamic_cast<const v1::GetRegisterResponse*>(&response)) {
    return RenderRegister(*m, style);
  }
  if (auto* m = dynamic_cast<const v1::GetEconomicsResponse*>(&response)) {
    return RenderEconomics(*m, style);
  }
  if (auto* m = dynamic_cast<const v1::GetPortfolioEconomicsResponse*>(&response)) {
    return RenderPortfolio(*m, style);
  }
  if (auto* m = dynamic_cast<const v1::ListProgrammesResponse*>(&response)) {
    return RenderProgrammes(*m, style);
  }
  if (auto* m = dynamic_cast<const v1::VerifyHistoryResponse*>(&response)) {
    return RenderVerify(*m, style);
  }
  if (auto* m = dynamic_cast<const v1::GetAccountHistoryResponse*>(&response)) {
    return RenderEntries(m->entries(), m->next_page_token(), style);
  }
  if (auto* m = dynamic_cast<const v1::GetHistoryResponse*>(&response)) {
    return RenderEntries(m->entries(), m->next_page_token(), style);
  }
  if (auto* m = dynamic_cast<const v1::GetProjectionStatusResponse*>(&response)) {
    return RenderStatus(*m, style);
  }
  std::string out;
  Generic(response, "", out, style);
  return out.empty() ? "(empty reply)\n" : out;
}

}  // namespace kam::kamctl
