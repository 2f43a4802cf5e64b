#include "core/diffusion/galaxy_morphology.h"

#include <algorithm>
#include <cctype>
#include <map>

#include "core/common/error.h"

namespace gml::diffusion {
namespace {

constexpr unsigned bit(GalaxyClass c) {
  return 1u << static_cast<unsigned>(c);
}
constexpr unsigned kSmooth = bit(GalaxyClass::Smooth);
constexpr unsigned kEdgeOn = bit(GalaxyClass::EdgeOnDisk);
constexpr unsigned kDisk = bit(GalaxyClass::Disk);
constexpr unsigned kMerger = bit(GalaxyClass::Merger);

const char* const kShapeTags[] = {"round", "in-between", "cigar-shaped"};
const char* const kEdgeOnBulgeTags[] = {"rounded bulge", "boxy bulge", "no bulge"};
const char* const kBulgeTags[] = {"no bulge", "just noticeable bulge", "obvious bulge",
                                  "dominant bulge"};
const char* const kArmTags[] = {"1 arm", "2 arms", "3 arms", "4 arms", "more than 4 arms"};
const char* const kWindingTags[] = {"tightly wound", "medium wound", "loosely wound"};

// Which answer a tag gives, and which classes it allows.
struct TagMeaning {
  unsigned classes;
  void (*apply)(MorphologyRequest&);
  const char* attribute;  // tags of one attribute must agree; nullptr: a class tag
};

const std::map<std::string, TagMeaning>& meanings() {
  static const std::map<std::string, TagMeaning> table = [] {
    std::map<std::string, TagMeaning> t;
    t["smooth"] = {kSmooth, [](MorphologyRequest&) {}, nullptr};
    t["round"] = {kSmooth, [](MorphologyRequest& r) { r.shape = SmoothShape::Round; }, "shape"};
    t["in-between"] = {kSmooth, [](MorphologyRequest& r) { r.shape = SmoothShape::InBetween; },
                       "shape"};
    t["cigar-shaped"] = {kSmooth, [](MorphologyRequest& r) { r.shape = SmoothShape::Cigar; },
                         "shape"};
    t["edge-on disk"] = {kEdgeOn, [](MorphologyRequest&) {}, nullptr};
    t["rounded bulge"] = {
        kEdgeOn, [](MorphologyRequest& r) { r.edge_on_bulge = EdgeOnBulge::Rounded; }, "bulge"};
    t["boxy bulge"] = {kEdgeOn, [](MorphologyRequest& r) { r.edge_on_bulge = EdgeOnBulge::Boxy; },
                       "bulge"};
    // "No bulge" answers the bulge question of both disk branches.
    t["no bulge"] = {kEdgeOn | kDisk,
                     [](MorphologyRequest& r) {
                       r.edge_on_bulge = EdgeOnBulge::None;
                       r.bulge = BulgeProminence::None;
                     },
                     "bulge"};
    t["disk"] = {kDisk, [](MorphologyRequest&) {}, nullptr};
    t["just noticeable bulge"] = {
        kDisk, [](MorphologyRequest& r) { r.bulge = BulgeProminence::JustNoticeable; }, "bulge"};
    t["obvious bulge"] = {kDisk, [](MorphologyRequest& r) { r.bulge = BulgeProminence::Obvious; },
                          "bulge"};
    t["dominant bulge"] = {kDisk, [](MorphologyRequest& r) { r.bulge = BulgeProminence::Dominant; },
                           "bulge"};
    t["no spiral"] = {kDisk, [](MorphologyRequest& r) { r.spiral = false; }, "spiral"};
    t["spiral"] = {kDisk, [](MorphologyRequest& r) { r.spiral = true; }, nullptr};
    t["1 arm"] = {kDisk, [](MorphologyRequest& r) { r.spiral = true, r.arms = 1; }, "arms"};
    t["2 arms"] = {kDisk, [](MorphologyRequest& r) { r.spiral = true, r.arms = 2; }, "arms"};
    t["3 arms"] = {kDisk, [](MorphologyRequest& r) { r.spiral = true, r.arms = 3; }, "arms"};
    t["4 arms"] = {kDisk, [](MorphologyRequest& r) { r.spiral = true, r.arms = 4; }, "arms"};
    t["more than 4 arms"] = {kDisk, [](MorphologyRequest& r) { r.spiral = true, r.arms = 5; },
                             "arms"};
    t["tightly wound"] = {kDisk,
                          [](MorphologyRequest& r) { r.spiral = true, r.winding = Winding::Tight; },
                          "winding"};
    t["medium wound"] = {kDisk,
                         [](MorphologyRequest& r) { r.spiral = true, r.winding = Winding::Medium; },
                         "winding"};
    t["loosely wound"] = {kDisk,
                          [](MorphologyRequest& r) { r.spiral = true, r.winding = Winding::Loose; },
                          "winding"};
    t["bar"] = {kDisk, [](MorphologyRequest& r) { r.bar = true; }, "bar"};
    t["ring"] = {kDisk, [](MorphologyRequest& r) { r.ring = true; }, "ring"};
    t["merger"] = {kMerger, [](MorphologyRequest&) {}, nullptr};
    t["tidal tails"] = {kMerger, [](MorphologyRequest&) {}, nullptr};
    t["dust lane"] = {kSmooth | kEdgeOn, [](MorphologyRequest& r) { r.dust_lane = true; },
                      "dust lane"};
    return t;
  }();
  return table;
}

size_t edit_distance(const std::string& a, const std::string& b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diagonal = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      const size_t above = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] != b[j - 1] ? 1 : 0)});
      diagonal = above;
    }
  }
  return row[b.size()];
}

std::string trimmed_lower(const std::string& s) {
  size_t begin = 0, end = s.size();
  while (begin < end && std::isspace(static_cast<unsigned char>(s[begin]))) ++begin;
  while (end > begin && std::isspace(static_cast<unsigned char>(s[end - 1]))) --end;
  std::string out = s.substr(begin, end - begin);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  // Runs of blanks inside a tag count as one ("edge-on  disk").
  out.erase(
      std::unique(out.begin(), out.end(), [](char x, char y) { return x == ' ' && y == ' '; }),
      out.end());
  return out;
}

[[noreturn]] void unknown_tag(const std::string& tag) {
  // Tags that contain what was typed ("cigar" -> "cigar-shaped") come
  // first; otherwise the fewest edits ("spirall" -> "spiral").
  std::string nearest, all;
  for (const auto& known : morphology_vocabulary()) {
    if (known.find(tag) != std::string::npos)
      nearest += (nearest.empty() ? "'" : ", '") + known + "'";
    all += (all.empty() ? "" : ", ") + known;
  }
  if (nearest.empty()) {
    size_t best = std::string::npos;
    for (const auto& known : morphology_vocabulary())
      best = std::min(best, edit_distance(tag, known));
    for (const auto& known : morphology_vocabulary())
      if (edit_distance(tag, known) == best)
        nearest += (nearest.empty() ? "'" : ", '") + known + "'";
  }
  fail(Status::InvalidArgument, "unknown morphology tag '" + tag + "' (nearest: " + nearest +
                                    "); the procedural galaxies know: " + all);
}

bool in_unit_interval(double p) {
  return p >= 0.0 && p <= 1.0;
}

}  // namespace

const std::vector<std::string>& morphology_vocabulary() {
  static const std::vector<std::string> vocabulary = {"smooth",
                                                      "round",
                                                      "in-between",
                                                      "cigar-shaped",
                                                      "edge-on disk",
                                                      "rounded bulge",
                                                      "boxy bulge",
                                                      "no bulge",
                                                      "disk",
                                                      "just noticeable bulge",
                                                      "obvious bulge",
                                                      "dominant bulge",
                                                      "no spiral",
                                                      "spiral",
                                                      "1 arm",
                                                      "2 arms",
                                                      "3 arms",
                                                      "4 arms",
                                                      "more than 4 arms",
                                                      "tightly wound",
                                                      "medium wound",
                                                      "loosely wound",
                                                      "bar",
                                                      "ring",
                                                      "merger",
                                                      "tidal tails",
                                                      "dust lane"};
  return vocabulary;
}

std::vector<std::string> morphology_tags(const Morphology& m) {
  std::vector<std::string> tags;
  switch (m.galaxy_class) {
    case GalaxyClass::Smooth:
      tags = {"smooth", kShapeTags[static_cast<int>(m.shape)]};
      if (m.dust_lane) tags.push_back("dust lane");
      break;
    case GalaxyClass::EdgeOnDisk:
      tags = {"edge-on disk", kEdgeOnBulgeTags[static_cast<int>(m.edge_on_bulge)]};
      if (m.dust_lane) tags.push_back("dust lane");
      break;
    case GalaxyClass::Disk:
      tags = {"disk", kBulgeTags[static_cast<int>(m.bulge)]};
      if (m.arms > 0) {
        tags.push_back("spiral");
        tags.push_back(kArmTags[std::clamp(m.arms, 1, 5) - 1]);
        tags.push_back(kWindingTags[static_cast<int>(m.winding)]);
      } else {
        tags.push_back("no spiral");
      }
      if (m.bar) tags.push_back("bar");
      if (m.ring) tags.push_back("ring");
      break;
    case GalaxyClass::Merger: tags = {"merger", "tidal tails"}; break;
  }
  return tags;
}

std::string morphology_caption(const Morphology& m, const std::string& source) {
  std::string caption = source;
  for (const auto& tag : morphology_tags(m)) caption += (caption.empty() ? "" : ", ") + tag;
  return caption;
}

MorphologyRequest parse_morphology_tags(const std::string& tags) {
  MorphologyRequest request;
  std::vector<std::pair<std::string, unsigned>> class_tags;  // tag, classes it allows
  std::map<std::string, std::string> attribute_tag;          // attribute -> tag that set it
  std::string spiral_tag;                                    // the tag that answered "spiral?"
  size_t start = 0;
  while (start <= tags.size()) {
    size_t comma = tags.find(',', start);
    if (comma == std::string::npos) comma = tags.size();
    const std::string tag = trimmed_lower(tags.substr(start, comma - start));
    start = comma + 1;
    if (tag.empty() || tag == "procedural" || tag == "sdss") continue;
    const auto found = meanings().find(tag);
    if (found == meanings().end()) unknown_tag(tag);
    const TagMeaning& meaning = found->second;
    if ((request.classes & meaning.classes) == 0) {
      std::string other = class_tags.front().first;
      for (const auto& [earlier, allowed] : class_tags)
        if ((allowed & meaning.classes) == 0) other = earlier;
      fail(Status::InvalidArgument, "morphology tags '" + other + "' and '" + tag +
                                        "' exclude each other (they belong to different "
                                        "galaxy classes)");
    }
    request.classes &= meaning.classes;
    class_tags.emplace_back(tag, meaning.classes);
    if (meaning.attribute != nullptr) {
      auto [it, inserted] = attribute_tag.emplace(meaning.attribute, tag);
      if (!inserted && it->second != tag)
        fail(Status::InvalidArgument, "morphology tags '" + it->second + "' and '" + tag +
                                          "' exclude each other (both answer '" +
                                          meaning.attribute + "')");
    }
    // "no spiral" against "spiral", an arm count or a winding.
    const std::optional<bool> spiral_before = request.spiral;
    meaning.apply(request);
    if (spiral_before && request.spiral != spiral_before)
      fail(Status::InvalidArgument,
           "morphology tags '" + spiral_tag + "' and '" + tag + "' exclude each other");
    if (!spiral_before && request.spiral) spiral_tag = tag;
  }
  return request;
}

Morphology draw_morphology(const MorphologyRequest& request, const MorphologyMix& mix,
                           const std::function<double()>& uniform) {
  const double weights[] = {mix.smooth, mix.edge_on_disk, mix.disk, mix.merger};
  for (double w : weights) require(w >= 0.0, "morphology mix: class weights must not be negative");
  require(in_unit_interval(mix.dust_lane_smooth) && in_unit_interval(mix.dust_lane_edge_on) &&
              in_unit_interval(mix.spiral) && in_unit_interval(mix.bar) &&
              in_unit_interval(mix.ring),
          "morphology mix: probabilities must lie in [0, 1]");
  require((request.classes & 0xF) != 0, "morphology request allows no galaxy class");

  // A fixed number of draws whatever the request, so that a request
  // changes what it fixes and nothing drawn after it (two are spare, for
  // answers added later without moving the galaxies of a seed).
  double u[10];
  for (double& draw : u) draw = uniform();
  double allowed[4], total = 0.0;
  int allowed_count = 0;
  for (int c = 0; c < 4; ++c) {
    const bool ok = (request.classes >> c) & 1u;
    allowed[c] = ok ? weights[c] : 0.0;
    total += allowed[c];
    allowed_count += ok ? 1 : 0;
  }
  if (total <= 0.0)  // the request wins over a mix that left its classes out
    for (int c = 0; c < 4; ++c) allowed[c] = ((request.classes >> c) & 1u) ? 1.0 : 0.0;
  total = total > 0.0 ? total : allowed_count;
  double x = u[0] * total;
  int chosen = 3;
  for (int c = 0; c < 4; ++c) {
    if (allowed[c] > 0.0 && x < allowed[c]) {
      chosen = c;
      break;
    }
    x -= allowed[c];
  }
  while (allowed[chosen] <= 0.0) --chosen;  // rounding at the top end

  auto pick = [](double draw, int n) { return std::min(n - 1, static_cast<int>(draw * n)); };
  Morphology m;
  m.galaxy_class = static_cast<GalaxyClass>(chosen);
  switch (m.galaxy_class) {
    case GalaxyClass::Smooth:
      m.shape = request.shape.value_or(static_cast<SmoothShape>(pick(u[1], 3)));
      m.dust_lane = request.dust_lane.value_or(u[2] < mix.dust_lane_smooth);
      break;
    case GalaxyClass::EdgeOnDisk:
      m.edge_on_bulge = request.edge_on_bulge.value_or(static_cast<EdgeOnBulge>(pick(u[1], 3)));
      m.dust_lane = request.dust_lane.value_or(u[2] < mix.dust_lane_edge_on);
      break;
    case GalaxyClass::Disk: {
      m.bulge = request.bulge.value_or(static_cast<BulgeProminence>(pick(u[1], 4)));
      if (request.spiral.value_or(u[3] < mix.spiral)) {
        // Two-armed grand designs are the most common answer in Galaxy Zoo 2.
        static const double kArmShares[] = {0.10, 0.50, 0.20, 0.10, 0.10};
        int arms = 5;
        double a = u[4];
        for (int k = 0; k < 5; ++k) {
          if (a < kArmShares[k]) {
            arms = k + 1;
            break;
          }
          a -= kArmShares[k];
        }
        m.arms = request.arms.value_or(arms);
        m.winding = request.winding.value_or(static_cast<Winding>(pick(u[5], 3)));
      }
      m.bar = request.bar.value_or(u[6] < mix.bar);
      m.ring = request.ring.value_or(u[7] < mix.ring);
      break;
    }
    case GalaxyClass::Merger: break;
  }
  return m;
}

}  // namespace gml::diffusion
