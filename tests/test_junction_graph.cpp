// Tests for xskan::make_junction_graph / write_graphml / write_json.
#include <cctype>
#include <cmath>
#include <cstdint>
#include <fstream>
#include <limits>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <catch2/catch.hpp>
#include <xtensor/xarray.hpp>

#include <xskan/junction_graph.hpp>

#include "golden.hpp"

namespace
{
    // Minimal strict JSON syntax checker (RFC 8259 grammar, no semantic checks).
    struct json_checker
    {
        const std::string& s;
        std::size_t i = 0;
        explicit json_checker(const std::string& text) : s(text) {}
        void ws() { while (i < s.size() && (s[i] == ' ' || s[i] == '\n' || s[i] == '\r' || s[i] == '\t')) ++i; }
        bool lit(const char* w)
        {
            const std::string t(w);
            if (s.compare(i, t.size(), t) != 0) return false;
            i += t.size();
            return true;
        }
        bool string()
        {
            if (i >= s.size() || s[i] != '"') return false;
            ++i;
            while (i < s.size() && s[i] != '"')
            {
                if (static_cast<unsigned char>(s[i]) < 0x20) return false;
                if (s[i] == '\\')
                {
                    ++i;
                    if (i >= s.size()) return false;
                    if (s[i] == 'u')
                    {
                        for (int k = 0; k < 4; ++k)
                            if (++i >= s.size() || !std::isxdigit(static_cast<unsigned char>(s[i]))) return false;
                    }
                    else if (std::string("\"\\/bfnrt").find(s[i]) == std::string::npos)
                        return false;
                }
                ++i;
            }
            if (i >= s.size()) return false;
            ++i;
            return true;
        }
        bool number()
        {
            const std::size_t b = i;
            if (i < s.size() && s[i] == '-') ++i;
            if (i >= s.size() || !std::isdigit(static_cast<unsigned char>(s[i]))) return false;
            if (s[i] == '0') ++i;
            else while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i]))) ++i;
            if (i < s.size() && s[i] == '.')
            {
                ++i;
                if (i >= s.size() || !std::isdigit(static_cast<unsigned char>(s[i]))) return false;
                while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i]))) ++i;
            }
            if (i < s.size() && (s[i] == 'e' || s[i] == 'E'))
            {
                ++i;
                if (i < s.size() && (s[i] == '+' || s[i] == '-')) ++i;
                if (i >= s.size() || !std::isdigit(static_cast<unsigned char>(s[i]))) return false;
                while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i]))) ++i;
            }
            return i > b;
        }
        bool value()
        {
            ws();
            if (i >= s.size()) return false;
            const char c = s[i];
            bool ok = false;
            if (c == '{')
            {
                ++i;
                ws();
                if (i < s.size() && s[i] == '}') { ++i; return true; }
                while (true)
                {
                    ws();
                    if (!string()) return false;
                    ws();
                    if (i >= s.size() || s[i] != ':') return false;
                    ++i;
                    if (!value()) return false;
                    ws();
                    if (i < s.size() && s[i] == ',') { ++i; continue; }
                    if (i < s.size() && s[i] == '}') { ++i; return true; }
                    return false;
                }
            }
            if (c == '[')
            {
                ++i;
                ws();
                if (i < s.size() && s[i] == ']') { ++i; return true; }
                while (true)
                {
                    if (!value()) return false;
                    ws();
                    if (i < s.size() && s[i] == ',') { ++i; continue; }
                    if (i < s.size() && s[i] == ']') { ++i; return true; }
                    return false;
                }
            }
            if (c == '"') ok = string();
            else if (c == 't') ok = lit("true");
            else if (c == 'f') ok = lit("false");
            else if (c == 'n') ok = lit("null");
            else ok = number();
            return ok;
        }
        bool document()
        {
            if (!value()) return false;
            ws();
            return i == s.size();
        }
    };

    bool valid_json(const std::string& s) { return json_checker(s).document(); }

    std::size_t count_of(const std::string& text, const std::string& what)
    {
        std::size_t n = 0;
        for (auto p = text.find(what); p != std::string::npos; p = text.find(what, p + 1)) ++n;
        return n;
    }

    // Checks that every XML element opened is closed in order (no attributes parsing beyond quotes).
    bool balanced_xml(const std::string& s)
    {
        std::vector<std::string> stack;
        std::size_t i = 0;
        while ((i = s.find('<', i)) != std::string::npos)
        {
            const auto end = s.find('>', i);
            if (end == std::string::npos) return false;
            const std::string tag = s.substr(i + 1, end - i - 1);
            i = end + 1;
            if (tag.empty()) return false;
            if (tag[0] == '?') continue;
            if (tag.back() == '/') continue;
            if (tag[0] == '/')
            {
                if (stack.empty() || stack.back() != tag.substr(1)) return false;
                stack.pop_back();
                continue;
            }
            stack.push_back(tag.substr(0, tag.find(' ')));
        }
        return stack.empty();
    }

    xskan::junction_graph graph_of(const xt::xarray<std::uint8_t>& img)
    {
        const xskan::skeleton skel(img);
        return xskan::make_junction_graph(skel);
    }
}  // namespace

TEST_CASE("junction_graph: hand-computed T", "[junction_graph][2d]")
{
    // T: junction (1, 3), tips (1, 0), (1, 6), (4, 3)
    xt::xarray<std::uint8_t> t = xt::zeros<std::uint8_t>({6, 7});
    for (std::size_t j = 0; j < 7; ++j) t(1, j) = 1;
    for (std::size_t i = 2; i < 5; ++i) t(i, 3) = 1;
    xskan::skeleton_options opts;
    opts.spacing = {2.0, 0.5};
    const xskan::skeleton skel(t, opts);
    const auto g = xskan::make_junction_graph(skel);
    CHECK(g.ndim == 2);
    CHECK(g.spacing == std::vector<double>{2.0, 0.5});
    REQUIRE(g.nodes.size() == 4);
    REQUIRE(g.edges.size() == 3);
    // node ids are pixel ranks in C order: (1,0)=0, (1,3)=3, (1,6)=6, (4,3)=9
    CHECK(g.nodes[0].id == 0);
    CHECK(g.nodes[1].id == 3);
    CHECK(g.nodes[2].id == 6);
    CHECK(g.nodes[3].id == 9);
    CHECK(g.nodes[1].image_coord == std::vector<std::int64_t>{1, 3});
    CHECK(g.nodes[1].coord == std::vector<double>{2.0, 1.5});
    CHECK(g.nodes[1].degree == 3);
    CHECK(g.nodes[0].degree == 1);
    CHECK(g.nodes[3].image_coord == std::vector<std::int64_t>{4, 3});
    CHECK(g.node_index(9) == 3);
    CHECK_THROWS_AS(g.node_index(1), std::out_of_range);
    for (const auto& e : g.edges)
    {
        CHECK(e.branch_type == 1);
        CHECK(e.skeleton_id == 0);
        CHECK(e.path.front() == e.src);
        CHECK(e.path.back() == e.dst);
        REQUIRE(e.path_coordinates.shape()[0] == e.path.size());
        CHECK(e.mean_pixel_value == 1.0);
    }
    // the left arm: (1,0) (1,1) (1,2) (1,3), three steps of 0.5
    CHECK(g.edges[0].src == 0);
    CHECK(g.edges[0].dst == 3);
    CHECK(g.edges[0].path.size() == 4);
    CHECK(g.edges[0].branch_distance == 1.5);
    CHECK(g.edges[0].path_coordinates(2, 1) == 2);
    // the down arm: 3 steps of 2.0
    const auto& down = g.edges[2];
    CHECK(down.src == 3);
    CHECK(down.dst == 9);
    CHECK(down.branch_distance == 6.0);
    CHECK(down.euclidean_distance == 6.0);
}

TEST_CASE("junction_graph: parallel branches, cycles and isolated pixels", "[junction_graph][2d][golden]")
{
    const auto in = xskan_test::golden("F_skan/fx_skeleton2/input.npy");
    XSKAN_REQUIRE_FILE_OR_SKIP(in);
    const auto img = xskan_test::load_npy<std::uint8_t>(in);
    const xskan::skeleton skel(img);
    const auto g = xskan::make_junction_graph(skel);
    const auto t = xskan_test::read_csv(xskan_test::golden("F_skan/fx_skeleton2/summary.csv"));
    REQUIRE(g.edges.size() == t.size());
    std::set<std::int64_t> ids;
    for (std::size_t i = 0; i < t.size(); ++i)
    {
        const auto& e = g.edges[i];
        CHECK(e.index == i);
        CHECK(e.src == static_cast<std::int64_t>(t.num(i, "node_id_src")));
        CHECK(e.dst == static_cast<std::int64_t>(t.num(i, "node_id_dst")));
        CHECK(e.branch_distance == t.num(i, "branch_distance"));
        CHECK(e.branch_type == static_cast<std::int32_t>(t.num(i, "branch_type")));
        CHECK(e.skeleton_id == static_cast<std::int64_t>(t.num(i, "skeleton_id")));
        CHECK(e.euclidean_distance == t.num(i, "euclidean_distance"));
        CHECK(e.path_coordinates(0, 0) == static_cast<std::int64_t>(t.num(i, "image_coord_src_0")));
        CHECK(e.path_coordinates(e.path.size() - 1, 1) == static_cast<std::int64_t>(t.num(i, "image_coord_dst_1")));
        ids.insert(e.src);
        ids.insert(e.dst);
    }
    // the golden has two parallel branches 7 -> 12: both are kept
    CHECK(g.edges[0].src == g.edges[1].src);
    CHECK(g.edges[0].dst == g.edges[1].dst);
    REQUIRE(g.nodes.size() == ids.size());
    const auto degrees = xskan_test::load_npy<std::int32_t>(xskan_test::golden("F_skan/fx_skeleton2/degrees.npy"));
    const auto coords = xskan_test::load_npy<std::int64_t>(xskan_test::golden("F_skan/fx_skeleton2/coordinates.npy"));
    std::size_t j = 0;
    for (auto id : ids)
    {
        const auto& n = g.nodes[j++];
        CHECK(n.id == id);
        CHECK(n.degree == degrees(static_cast<std::size_t>(id)));
        CHECK(n.image_coord[0] == coords(static_cast<std::size_t>(id), 0));
        CHECK(n.image_coord[1] == coords(static_cast<std::size_t>(id), 1));
    }

    // an isolated cycle (one self-loop edge on its start node) and an isolated pixel (no node)
    xt::xarray<std::uint8_t> c = xt::zeros<std::uint8_t>({6, 6});
    c(1, 2) = c(2, 1) = c(2, 3) = c(3, 2) = 1;  // diamond
    c(5, 5) = 1;
    const auto cg = graph_of(c);
    REQUIRE(cg.nodes.size() == 1);
    REQUIRE(cg.edges.size() == 1);
    CHECK(cg.edges[0].src == cg.edges[0].dst);
    CHECK(cg.edges[0].branch_type == 3);
    CHECK(cg.edges[0].path.size() == 5);
    CHECK(cg.nodes[0].degree == 2);

    // only isolated pixels: an empty graph
    xt::xarray<std::uint8_t> dots = xt::zeros<std::uint8_t>({5, 5});
    dots(0, 0) = dots(2, 2) = dots(4, 4) = 1;
    const auto dg = graph_of(dots);
    CHECK(dg.nodes.empty());
    CHECK(dg.edges.empty());
    std::ostringstream os;
    xskan::write_json(os, dg);
    CHECK(valid_json(os.str()));
    std::ostringstream xs;
    xskan::write_graphml(xs, dg);
    CHECK(balanced_xml(xs.str()));
}

TEST_CASE("junction_graph: GraphML and JSON writers", "[junction_graph][2d][golden]")
{
    const auto in = xskan_test::golden("F_skan/skeletontif/skeleton.npy");
    XSKAN_REQUIRE_FILE_OR_SKIP(in);
    const auto img = xskan_test::load_npy<std::uint8_t>(in);
    const xskan::skeleton skel(img);
    const auto g = xskan::make_junction_graph(skel);
    REQUIRE(g.edges.size() == 83);

    std::ostringstream xs;
    xskan::write_graphml(xs, g);
    const std::string xml = xs.str();
    CHECK(balanced_xml(xml));
    CHECK(count_of(xml, "<node id=") == g.nodes.size());
    CHECK(count_of(xml, "<edge id=") == g.edges.size());
    CHECK(count_of(xml, "<key id=") == 2 + 2 * 2 + 3 + 9);
    CHECK(xml.find("edgedefault=\"undirected\"") != std::string::npos);
    // the first edge, fully
    const auto& e0 = g.edges[0];
    std::ostringstream first;
    first << "<edge id=\"0\" source=\"" << e0.src << "\" target=\"" << e0.dst << "\">";
    CHECK(xml.find(first.str()) != std::string::npos);

    std::ostringstream js;
    xskan::write_json(js, g);
    const std::string json = js.str();
    CHECK(valid_json(json));
    CHECK(count_of(json, "\"id\": ") == g.nodes.size());
    CHECK(count_of(json, "\"source\": ") == g.edges.size());
    CHECK(json.find("\"multigraph\": true") != std::string::npos);

    // files for a manual networkx round trip (see the report): build dir / junction_graph_skeletontif.*
    std::ofstream("junction_graph_skeletontif.graphml") << xml;
    std::ofstream("junction_graph_skeletontif.json") << json;
}

TEST_CASE("junction_graph: non-finite numbers and escaping", "[junction_graph]")
{
    xskan::junction_graph g;
    g.ndim = 1;
    g.spacing = {0.1};
    xskan::junction_graph_node n;
    n.id = 4;
    n.image_coord = {4};
    n.coord = {0.4};
    n.degree = 1;
    n.value = std::numeric_limits<double>::quiet_NaN();
    g.nodes.push_back(n);
    xskan::junction_graph_edge e;
    e.src = e.dst = 4;
    e.branch_distance = std::numeric_limits<double>::infinity();
    e.mean_pixel_value = -std::numeric_limits<double>::infinity();
    e.stdev_pixel_value = 1e300;
    e.euclidean_distance = 5e-324;
    e.path = {4};
    e.path_coordinates = xt::xtensor<std::int64_t, 2>::from_shape({1, 1});
    e.path_coordinates(0, 0) = 4;
    g.edges.push_back(e);

    std::ostringstream js;
    xskan::write_json(js, g);
    const auto json = js.str();
    CHECK(valid_json(json));
    CHECK(json.find("\"value\": null") != std::string::npos);
    CHECK(json.find("\"branch_distance\": null") != std::string::npos);
    CHECK(json.find("\"mean_pixel_value\": null") != std::string::npos);
    CHECK(json.find("\"spacing\": [0.1]") != std::string::npos);  // shortest round trip
    CHECK(json.find("\"stdev_pixel_value\": 1e+300") != std::string::npos);
    CHECK(json.find("\"euclidean_distance\": 5e-324") != std::string::npos);

    std::ostringstream xs;
    xskan::write_graphml(xs, g);
    const auto xml = xs.str();
    CHECK(balanced_xml(xml));
    CHECK(xml.find(">NaN</data>") != std::string::npos);
    CHECK(xml.find(">INF</data>") != std::string::npos);
    CHECK(xml.find(">-INF</data>") != std::string::npos);

    std::string s;
    xskan::detail::jg_json_string(s, std::string("a\"b\\c\n\t\x01/"));
    CHECK(s == "\"a\\\"b\\\\c\\n\\t\\u0001/\"");
    CHECK(valid_json(s));
    std::string x;
    xskan::detail::jg_xml_escape(x, "<a & 'b'>\"");
    CHECK(x == "&lt;a &amp; &apos;b&apos;&gt;&quot;");
}

TEST_CASE("junction_graph: a summary of another skeleton is rejected", "[junction_graph]")
{
    xt::xarray<std::uint8_t> a = xt::zeros<std::uint8_t>({5, 5});
    for (std::size_t j = 0; j < 5; ++j) a(2, j) = 1;
    xt::xarray<std::uint8_t> b = xt::zeros<std::uint8_t>({5, 5});
    for (std::size_t j = 0; j < 5; ++j) b(2, j) = b(j, 2) = 1;
    const xskan::skeleton sa(a), sb(b);
    CHECK_THROWS_AS(xskan::make_junction_graph(sa, xskan::summarize(sb)), std::invalid_argument);
    xt::xarray<std::uint8_t> c = xt::zeros<std::uint8_t>({5, 5});
    for (std::size_t i = 0; i < 4; ++i) c(i, 2) = 1;
    const xskan::skeleton sc(c);  // one path, like sa, but other end nodes
    CHECK_THROWS_AS(xskan::make_junction_graph(sa, xskan::summarize(sc)), std::invalid_argument);
    CHECK_NOTHROW(xskan::make_junction_graph(sa, xskan::summarize(sa)));
}
