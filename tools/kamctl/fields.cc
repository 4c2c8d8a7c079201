#include "tools/kamctl/fields.h"

#include <cctype>
#include <cmath>
#include <map>

#include "absl/status/statusor.h"
#include "absl/strings/numbers.h"
#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "base/errors.h"
#include "base/strings.h"
#include "google/protobuf/util/json_util.h"
#include "kam/v1/commands.pb.h"
#include "kam/v1/envelope.pb.h"
#include "kam/v1/events.pb.h"
#include "tools/kamctl/text.h"

namespace kam::kamctl {
namespace {

using google::protobuf::Descriptor;
using google::protobuf::EnumDescriptor;
using google::protobuf::EnumValueDescriptor;
using google::protobuf::FieldDescriptor;
using google::protobuf::Message;
using google::protobuf::Reflection;

constexpr std::string_view kTimestamp = "google.protobuf.Timestamp";
constexpr std::string_view kMoney = "kam.v1.Money";
constexpr std::string_view kPosition = "kam.v1.LogPosition";
constexpr std::string_view kMetadata = "kam.v1.CommandMetadata";
// The range of google.protobuf.Timestamp: 0001-01-01T00:00:00Z to 9999-12-31T23:59:59Z.
constexpr int64_t kMinTimestampSeconds = -62135596800;
constexpr int64_t kMaxTimestampSeconds = 253402300799;

bool IsAtomicMessage(const Descriptor* d) {
  const std::string& n = d->full_name();
  return n == kTimestamp || n == kMoney || n == kPosition;
}

std::string EnumChoices(const EnumDescriptor* e) {
  std::vector<std::string> names;
  for (int i = 0; i < e->value_count(); ++i) {
    if (e->value(i)->number() == 0 && e->value(i)->name().ends_with("UNSPECIFIED")) {
      continue;
    }
    names.push_back(EnumShortName(e->value(i)));
  }
  return Join(names, "|");
}

std::string KindOf(const FieldDescriptor* f) {
  switch (f->cpp_type()) {
    case FieldDescriptor::CPPTYPE_INT32:
    case FieldDescriptor::CPPTYPE_INT64:
    case FieldDescriptor::CPPTYPE_UINT32:
    case FieldDescriptor::CPPTYPE_UINT64:
      return "whole number";
    case FieldDescriptor::CPPTYPE_DOUBLE:
    case FieldDescriptor::CPPTYPE_FLOAT:
      return "number";
    case FieldDescriptor::CPPTYPE_BOOL:
      return "true|false";
    case FieldDescriptor::CPPTYPE_ENUM:
      return EnumChoices(f->enum_type());
    case FieldDescriptor::CPPTYPE_STRING: {
      const std::string& n = f->name();
      if (n.ends_with("_on") || n.ends_with("_date") || n.starts_with("period_") || n == "due_by" ||
          n == "review_by") {
        return "date YYYY-MM-DD";
      }
      if (n.ends_with("_id")) return "id: lower-case letters, digits, . _ -";
      return "text";
    }
    case FieldDescriptor::CPPTYPE_MESSAGE: {
      if (f->is_map()) return "JSON object";
      const std::string& n = f->message_type()->full_name();
      if (n == kTimestamp) return "time: RFC 3339, YYYY-MM-DD (local midnight) or now";
      if (n == kMoney) return "money, e.g. '1,500.00 EUR'";
      if (n == kPosition) return "log position topic/partition@offset";
      std::vector<std::string> keys;
      for (int i = 0; i < f->message_type()->field_count(); ++i) {
        keys.push_back(f->message_type()->field(i)->name() + "=...");
      }
      return base::StrCat(Join(keys, ","), " or a JSON object");
    }
  }
  return "value";
}

void Walk(const Descriptor* d, const std::string& prefix, std::vector<const FieldDescriptor*> chain,
          int depth, std::vector<Leaf>& out) {
  for (int i = 0; i < d->field_count(); ++i) {
    const FieldDescriptor* f = d->field(i);
    if (prefix.empty() && f->message_type() != nullptr &&
        f->message_type()->full_name() == kMetadata) {
      continue;
    }
    auto here = chain;
    here.push_back(f);
    const std::string path = prefix + f->name();
    const bool nested = f->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE && !f->is_repeated() &&
                        !f->is_map() && !IsAtomicMessage(f->message_type());
    if (nested && depth < 4) {
      Walk(f->message_type(), path + ".", here, depth + 1, out);
      continue;
    }
    Leaf leaf;
    leaf.path = path;
    leaf.flag = Kebab(path);
    leaf.chain = std::move(here);
    leaf.repeated = f->is_repeated();
    leaf.boolean = f->cpp_type() == FieldDescriptor::CPPTYPE_BOOL && !f->is_repeated();
    leaf.kind = KindOf(f);
    out.push_back(std::move(leaf));
  }
}

absl::Status Bad(const Leaf& leaf, std::string_view value, std::string_view expected) {
  return absl::InvalidArgumentError(
      base::StrCat("--", leaf.flag, ": '", value.substr(0, 80), "' is not ", expected));
}

absl::StatusOr<absl::Time> ParseTime(std::string_view text) {
  std::string t(Trim(text));
  if (t == "now") return absl::Now();
  absl::Time out;
  std::string err;
  if (absl::ParseTime(absl::RFC3339_full, t, &out, &err)) return out;
  absl::CivilDay day;
  if (absl::ParseCivilTime(t, &day)) return absl::FromCivil(day, absl::LocalTimeZone());
  return absl::InvalidArgumentError("a time (RFC 3339 like 2026-01-31T09:00:00Z, a date, or now)");
}

absl::Status SetOne(Message& m, const FieldDescriptor* f, const Leaf& leaf, std::string_view v);

// A message given as key=value pairs ("criterion_id=fit,score=4"), as the shorthand
// "fit=4" for a two-field message (an id and a number), or as a JSON object.
absl::Status SetMessage(Message& sub, const Leaf& leaf, std::string_view v) {
  const Descriptor* d = sub.GetDescriptor();
  const std::string text(Trim(v));
  if (!text.empty() && text.front() == '{') {
    auto s = google::protobuf::util::JsonStringToMessage(text, &sub);
    if (!s.ok()) return Bad(leaf, v, base::StrCat("a JSON ", d->name(), ": ", s.ToString()));
    return absl::OkStatus();
  }
  const std::vector<Leaf> leaves = LeavesOf(d);
  std::vector<std::string_view> pairs = Split(text, ',');
  if (pairs.empty()) return Bad(leaf, v, "key=value pairs");
  for (std::string_view pair : pairs) {
    const std::size_t eq = pair.find('=');
    if (eq == std::string_view::npos) return Bad(leaf, v, "key=value pairs");
    std::string_view key = Trim(pair.substr(0, eq));
    std::string_view value = Trim(pair.substr(eq + 1));
    absl::Status s = SetPath(sub, leaves, key, value);
    if (absl::IsNotFound(s) && pairs.size() == 1 && d->field_count() == 2 &&
        d->field(0)->cpp_type() == FieldDescriptor::CPPTYPE_STRING &&
        d->field(1)->cpp_type() != FieldDescriptor::CPPTYPE_STRING &&
        d->field(1)->cpp_type() != FieldDescriptor::CPPTYPE_MESSAGE) {
      KAM_RETURN_IF_ERROR(SetOne(sub, d->field(0), leaf, key));
      return SetOne(sub, d->field(1), leaf, value);
    }
    if (absl::IsNotFound(s)) {
      std::vector<std::string> keys;
      for (const Leaf& l : leaves) keys.push_back(l.path);
      return Bad(leaf, v,
                 base::StrCat("made of known keys: '", key, "' is not one of ", Join(keys, ", ")));
    }
    if (!s.ok()) {
      return absl::InvalidArgumentError(base::StrCat("--", leaf.flag, ": ", s.message()));
    }
  }
  return absl::OkStatus();
}

absl::Status SetOne(Message& m, const FieldDescriptor* f, const Leaf& leaf, std::string_view v) {
  const Reflection* r = m.GetReflection();
  const bool rep = f->is_repeated();
  const std::string text(Trim(v));
  switch (f->cpp_type()) {
    case FieldDescriptor::CPPTYPE_INT32: {
      int32_t x;
      if (!absl::SimpleAtoi(text, &x)) return Bad(leaf, v, "a whole number");
      rep ? r->AddInt32(&m, f, x) : r->SetInt32(&m, f, x);
      return absl::OkStatus();
    }
    case FieldDescriptor::CPPTYPE_INT64: {
      int64_t x;
      if (!absl::SimpleAtoi(text, &x)) return Bad(leaf, v, "a whole number");
      rep ? r->AddInt64(&m, f, x) : r->SetInt64(&m, f, x);
      return absl::OkStatus();
    }
    case FieldDescriptor::CPPTYPE_UINT32: {
      uint32_t x;
      if (text.starts_with('-') || !absl::SimpleAtoi(text, &x)) {
        return Bad(leaf, v, "a whole number >= 0");
      }
      rep ? r->AddUInt32(&m, f, x) : r->SetUInt32(&m, f, x);
      return absl::OkStatus();
    }
    case FieldDescriptor::CPPTYPE_UINT64: {
      uint64_t x;
      if (text.starts_with('-') || !absl::SimpleAtoi(text, &x)) {
        return Bad(leaf, v, "a whole number >= 0");
      }
      rep ? r->AddUInt64(&m, f, x) : r->SetUInt64(&m, f, x);
      return absl::OkStatus();
    }
    case FieldDescriptor::CPPTYPE_DOUBLE:
    case FieldDescriptor::CPPTYPE_FLOAT: {
      double x;
      std::string number = text;
      const bool percent = !number.empty() && number.back() == '%';
      if (percent) number.pop_back();
      if (!absl::SimpleAtod(number, &x) || !std::isfinite(x)) return Bad(leaf, v, "a number");
      if (percent) x /= 100;
      if (f->cpp_type() == FieldDescriptor::CPPTYPE_DOUBLE) {
        rep ? r->AddDouble(&m, f, x) : r->SetDouble(&m, f, x);
      } else {
        rep ? r->AddFloat(&m, f, static_cast<float>(x)) : r->SetFloat(&m, f, static_cast<float>(x));
      }
      return absl::OkStatus();
    }
    case FieldDescriptor::CPPTYPE_BOOL: {
      const std::string b = Lower(text);
      bool x;
      if (b.empty() || b == "true" || b == "yes" || b == "y" || b == "1" || b == "on") {
        x = true;
      } else if (b == "false" || b == "no" || b == "n" || b == "0" || b == "off") {
        x = false;
      } else {
        return Bad(leaf, v, "true or false");
      }
      rep ? r->AddBool(&m, f, x) : r->SetBool(&m, f, x);
      return absl::OkStatus();
    }
    case FieldDescriptor::CPPTYPE_ENUM: {
      const EnumValueDescriptor* e = ParseEnum(f->enum_type(), text);
      if (e == nullptr) return Bad(leaf, v, base::StrCat("one of ", EnumChoices(f->enum_type())));
      rep ? r->AddEnum(&m, f, e) : r->SetEnum(&m, f, e);
      return absl::OkStatus();
    }
    case FieldDescriptor::CPPTYPE_STRING:
      rep ? r->AddString(&m, f, std::string(v)) : r->SetString(&m, f, std::string(v));
      return absl::OkStatus();
    case FieldDescriptor::CPPTYPE_MESSAGE: {
      Message* sub = rep ? r->AddMessage(&m, f) : r->MutableMessage(&m, f);
      const std::string& type = f->message_type()->full_name();
      if (!text.empty() && text.front() == '{') return SetMessage(*sub, leaf, text);
      if (type == kTimestamp) {
        auto t = ParseTime(text);
        if (!t.ok()) return Bad(leaf, v, std::string(t.status().message()));
        // A Timestamp holds 0001-01-01 to 9999-12-31 (absl also parses "infinite-future");
        // seconds and nanoseconds apart, since nanoseconds since 1970 overflow before 1677
        // and after 2262.
        if (*t < absl::FromUnixSeconds(kMinTimestampSeconds) ||
            *t >= absl::FromUnixSeconds(kMaxTimestampSeconds + 1)) {
          return Bad(leaf, v, "a time between the years 1 and 9999");
        }
        auto* ts = static_cast<google::protobuf::Timestamp*>(sub);
        const int64_t seconds = absl::ToUnixSeconds(*t);  // rounds down, before 1970 too
        ts->set_seconds(seconds);
        ts->set_nanos(
            static_cast<int32_t>((*t - absl::FromUnixSeconds(seconds)) / absl::Nanoseconds(1)));
        return absl::OkStatus();
      }
      if (type == kMoney) {
        int64_t minor = 0;
        std::string currency;
        if (auto s = ParseMoney(text, &minor, &currency); !s.ok()) {
          return Bad(leaf, v, std::string(s.message()));
        }
        auto* money = static_cast<v1::Money*>(sub);
        money->set_currency(currency);
        money->set_minor_units(minor);
        return absl::OkStatus();
      }
      if (type == kPosition) {
        // topic/partition@offset
        const std::size_t at = text.rfind('@');
        const std::size_t slash = text.rfind('/', at);
        auto* pos = static_cast<v1::LogPosition*>(sub);
        int32_t partition = 0;
        int64_t offset = 0;
        if (at == std::string::npos || slash == std::string::npos || slash == 0 ||
            !absl::SimpleAtoi(text.substr(slash + 1, at - slash - 1), &partition) ||
            !absl::SimpleAtoi(text.substr(at + 1), &offset)) {
          return Bad(leaf, v, "a log position topic/partition@offset");
        }
        pos->set_topic(text.substr(0, slash));
        pos->set_partition(partition);
        pos->set_offset(offset);
        return absl::OkStatus();
      }
      return SetMessage(*sub, leaf, v);
    }
  }
  return Bad(leaf, v, "a supported value");
}

}  // namespace

std::string Kebab(std::string_view name) {
  std::string out(name);
  for (char& c : out) {
    if (c == '_') c = '-';
  }
  return out;
}

std::string EnumShortName(const EnumValueDescriptor* value) {
  // The enum's prefix is its type name in UPPER_SNAKE: MetricKind -> METRIC_KIND_.
  std::string prefix;
  for (char c : value->type()->name()) {
    if (std::isupper(static_cast<unsigned char>(c)) && !prefix.empty()) prefix += '_';
    prefix += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  }
  prefix += '_';
  std::string name = value->name();
  if (name.starts_with(prefix)) name = name.substr(prefix.size());
  return Kebab(Lower(name));
}

const EnumValueDescriptor* ParseEnum(const EnumDescriptor* e, std::string_view text) {
  const std::string want = Kebab(Lower(Trim(text)));
  if (want.empty()) return nullptr;
  int number;
  if (absl::SimpleAtoi(want, &number)) return e->FindValueByNumber(number);
  for (int i = 0; i < e->value_count(); ++i) {
    const EnumValueDescriptor* v = e->value(i);
    if (EnumShortName(v) == want || Kebab(Lower(v->name())) == want) return v;
  }
  return nullptr;
}

absl::Status ParseMoney(std::string_view text, int64_t* minor_units, std::string* currency) {
  std::vector<std::string_view> parts = Split(text, ' ');
  std::string number;
  currency->clear();
  for (std::string_view p : parts) {
    const bool code = p.size() == 3 && std::all_of(p.begin(), p.end(), [](char c) {
                        return std::isalpha(static_cast<unsigned char>(c));
                      });
    if (code && currency->empty()) {
      *currency = Upper(p);
    } else if (number.empty()) {
      number = std::string(p);
    } else {
      return absl::InvalidArgumentError("an amount and a currency, e.g. '1,500.00 EUR'");
    }
  }
  if (number.empty() || currency->empty()) {
    return absl::InvalidArgumentError("an amount and a currency, e.g. '1,500.00 EUR'");
  }
  bool negative = false;
  if (number.front() == '-' || number.front() == '+') {
    negative = number.front() == '-';
    number.erase(0, 1);
  }
  std::string whole;
  std::string cents;
  bool in_cents = false;
  for (char c : number) {
    if (c == ',' && !in_cents) continue;  // thousands separator
    if (c == '.' && !in_cents) {
      in_cents = true;
    } else if (std::isdigit(static_cast<unsigned char>(c))) {
      (in_cents ? cents : whole) += c;
    } else {
      return absl::InvalidArgumentError("an amount like 1,500.00 (digits, ',' and '.')");
    }
  }
  if (whole.empty() && cents.empty()) return absl::InvalidArgumentError("an amount with digits");
  if (cents.size() > 2) {
    return absl::InvalidArgumentError("an amount with at most two decimals (minor units)");
  }
  while (cents.size() < 2) cents += '0';
  uint64_t w = 0;
  if (!whole.empty() && !absl::SimpleAtoi(whole, &w)) {
    return absl::InvalidArgumentError("an amount in range");
  }
  const uint64_t c = static_cast<uint64_t>((cents[0] - '0') * 10 + (cents[1] - '0'));
  if (w > (static_cast<uint64_t>(INT64_MAX) - c) / 100) {
    return absl::InvalidArgumentError("an amount in range");
  }
  const int64_t minor = static_cast<int64_t>(w * 100 + c);
  *minor_units = negative ? -minor : minor;
  return absl::OkStatus();
}

std::vector<Leaf> LeavesOf(const Descriptor* request) {
  std::vector<Leaf> out;
  Walk(request, "", {}, 0, out);
  std::map<std::string, int> last;
  std::map<std::string, int> names;
  for (const Leaf& l : out) {
    ++names[l.flag];
    const std::string tail = Kebab(l.chain.back()->name());
    ++last[tail];
  }
  for (Leaf& l : out) {
    const std::string tail = Kebab(l.chain.back()->name());
    if (tail != l.flag && last[tail] == 1 && names[tail] == 0) {
      l.aliases.push_back(tail);
      ++names[tail];
    }
  }
  for (Leaf& l : out) {
    const std::string tail = Kebab(l.chain.back()->name());
    if (!tail.ends_with("-id") || l.repeated) continue;
    const std::string base = tail.substr(0, tail.size() - 3);
    if (last[tail] == 1 && names[base] == 0) {
      l.aliases.push_back(base);
      ++names[base];
    }
  }
  return out;
}

absl::Status SetLeaf(Message& message, const Leaf& leaf, const std::vector<std::string>& values) {
  Message* m = &message;
  for (std::size_t i = 0; i + 1 < leaf.chain.size(); ++i) {
    m = m->GetReflection()->MutableMessage(m, leaf.chain[i]);
  }
  const FieldDescriptor* f = leaf.chain.back();
  if (!f->is_repeated()) {
    if (values.size() > 1) {
      return absl::InvalidArgumentError(base::StrCat("--", leaf.flag, ": given more than once"));
    }
    return SetOne(*m, f, leaf, values.empty() ? std::string_view() : values[0]);
  }
  if (f->is_map()) {
    // A map is set as a JSON object of the whole message path.
    return absl::InvalidArgumentError(
        base::StrCat("--", leaf.flag, ": maps are set with --from-json"));
  }
  const bool scalar =
      f->cpp_type() != FieldDescriptor::CPPTYPE_MESSAGE || IsAtomicMessage(f->message_type());
  for (const std::string& v : values) {
    if (scalar && f->message_type() == nullptr) {
      for (std::string_view item : Split(v, ',')) {
        KAM_RETURN_IF_ERROR(SetOne(*m, f, leaf, item));
      }
    } else {
      KAM_RETURN_IF_ERROR(SetOne(*m, f, leaf, v));
    }
  }
  return absl::OkStatus();
}

absl::Status SetPath(Message& message, const std::vector<Leaf>& leaves, std::string_view path,
                     std::string_view value) {
  const std::string want = Kebab(Lower(Trim(path)));
  for (const Leaf& l : leaves) {
    bool match = l.flag == want;
    for (const auto& a : l.aliases) match = match || a == want;
    if (!match) continue;
    if (!l.repeated) return SetLeaf(message, l, {std::string(value)});
    std::vector<std::string> items;
    for (std::string_view item : Split(value, ';')) items.emplace_back(item);
    return SetLeaf(message, l, items);
  }
  return absl::NotFoundError(base::StrCat("no field '", path, "'"));
}

}  // namespace kam::kamctl
