/*
 * render-html.c - the stale report as one self-contained HTML page: no
 * external assets, the CSS and the script are inline. It holds a summary,
 * two charts drawn as inline SVG bars (staleness by base and by team), and
 * the table, which sorts when a header is clicked and filters on the text
 * typed in the filter box. The page also reads its state from the URL
 * fragment (#sort=days&dir=desc&filter=debian) on load and writes it back,
 * so a view can be linked, and tested with a headless browser. Every
 * string from the report is HTML-escaped.
 */
#include <stdlib.h>
#include <string.h>

#include "report-int.h"

/* Charts show at most this many bars; the rest are summed up in a note. */
#define MAX_BARS 40

static const char css[] =
    "body{font:14px/1.4 system-ui,sans-serif;margin:1.5em;color:#1d2330}"
    "h1{font-size:1.5em;margin:0 0 .2em}.gen{color:#667;margin:0 0 1em}"
    "#summary{display:flex;flex-wrap:wrap;gap:.6em;margin-bottom:1em}"
    ".card{border:1px solid #d5d9e0;border-radius:6px;padding:.4em .8em;"
    "min-width:6em}.card b{display:block;font-size:1.6em}"
    ".card.stale b{color:#c0392b}.card.behind b{color:#b7791f}"
    ".card.current b{color:#2f855a}"
    "#charts{display:flex;flex-wrap:wrap;gap:2em;margin-bottom:1em}"
    "figure{margin:0}figcaption{font-weight:600;margin-bottom:.3em}"
    "svg text{font:12px system-ui,sans-serif;fill:#1d2330}"
    ".bar-total{fill:#d5d9e0}.bar-stale{fill:#c0392b}.bar-behind{fill:#e0a526}"
    "#filter{padding:.3em .5em;width:20em}#count{color:#667;margin-left:.5em}"
    "table{border-collapse:collapse;margin-top:.6em;width:100%}"
    "th,td{text-align:left;padding:.25em .6em;border-bottom:1px solid #e4e7ec;"
    "white-space:nowrap}"
    "th{cursor:pointer;user-select:none;background:#f4f6f9}"
    "th[aria-sort=ascending]::after{content:' \\25B2'}"
    "th[aria-sort=descending]::after{content:' \\25BC'}"
    "td.num{text-align:right}code{font-size:12px}"
    "tr.stale td.status{color:#c0392b;font-weight:600}"
    "tr.behind td.status{color:#b7791f}tr.current td.status{color:#2f855a}"
    "tr.unknown td.status{color:#667}"
    "td.deprecated{color:#8e44ad;font-weight:600}td.non-golden{color:#b7791f}"
    "tr[hidden]{display:none}";

static const char script[] =
    "(function(){\n"
    "var table=document.getElementById('report'),tbody=table.tBodies[0];\n"
    "var filter=document.getElementById('filter');\n"
    "var count=document.getElementById('count');\n"
    "var heads=table.tHead.rows[0].cells;\n"
    "var state={sort:'',dir:'asc',filter:''};\n"
    "function col(k){for(var i=0;i<heads.length;i++)"
    "if(heads[i].getAttribute('data-key')===k)return i;return -1;}\n"
    "function apply(){\n"
    " var rows=Array.prototype.slice.call(tbody.rows),i=col(state.sort);\n"
    " if(i>=0){\n"
    "  var num=heads[i].getAttribute('data-type')==='num';\n"
    "  var s=state.dir==='desc'?-1:1;\n"
    "  rows.sort(function(a,b){\n"
    "   var x=a.cells[i].getAttribute('data-v'),"
    "y=b.cells[i].getAttribute('data-v');\n"
    "   if(x===y)return 0;if(x==='')return 1;if(y==='')return -1;\n"
    "   if(num)return s*(parseFloat(x)-parseFloat(y));\n"
    "   return s*(x<y?-1:1);});\n"
    "  rows.forEach(function(r){tbody.appendChild(r);});\n"
    " }\n"
    " for(var h=0;h<heads.length;h++)heads[h].setAttribute('aria-sort',"
    "h===i?(state.dir==='desc'?'descending':'ascending'):'none');\n"
    " var f=state.filter.toLowerCase(),shown=0;\n"
    " rows.forEach(function(r){\n"
    "  if(!f||r.textContent.toLowerCase().indexOf(f)>=0){"
    "r.removeAttribute('hidden');shown++;}\n"
    "  else r.setAttribute('hidden','');});\n"
    " count.textContent=shown+' of '+rows.length+' rows';\n"
    " if(filter.value!==state.filter)filter.value=state.filter;\n"
    "}\n"
    "function save(){\n"
    " var p=[];\n"
    " if(state.sort)p.push('sort='+encodeURIComponent(state.sort));\n"
    " if(state.dir==='desc')p.push('dir=desc');\n"
    " if(state.filter)p.push('filter='+encodeURIComponent(state.filter));\n"
    " try{history.replaceState(null,'',p.length?'#'+p.join('&'):"
    "location.pathname+location.search);}catch(e){}\n"
    "}\n"
    "function load(){\n"
    " location.hash.replace(/^#/,'').split('&').forEach(function(kv){\n"
    "  var j=kv.indexOf('=');if(j<0)return;\n"
    "  var k=kv.slice(0,j),v=decodeURIComponent(kv.slice(j+1)"
    ".replace(/\\+/g,' '));\n"
    "  if(k==='sort'){if(v.charAt(0)==='-'){state.dir='desc';v=v.slice(1);}"
    "state.sort=v;}\n"
    "  else if(k==='dir')state.dir=v==='desc'?'desc':'asc';\n"
    "  else if(k==='filter')state.filter=v;});\n"
    "}\n"
    "for(var h=0;h<heads.length;h++)heads[h].addEventListener('click',"
    "function(ev){\n"
    " var k=ev.currentTarget.getAttribute('data-key');\n"
    " if(state.sort===k)state.dir=state.dir==='asc'?'desc':'asc';\n"
    " else{state.sort=k;state.dir='asc';}\n"
    " apply();save();});\n"
    "filter.addEventListener('input',function(){state.filter=filter.value;"
    "apply();save();});\n"
    "window.addEventListener('hashchange',function(){"
    "state={sort:'',dir:'asc',filter:''};load();apply();});\n"
    "load();apply();\n"
    "document.body.setAttribute('data-ready','1');\n"
    "})();\n";

/* The table's columns: key (sort name), title, JSON field, type. */
typedef struct hcol {
    const char *key;
    const char *title;
    const char *field;
    int num;
} hcol;

static const hcol hcols[] = {
    {"image", "Image", "image", 0},
    {"base", "Base", "base", 0},
    {"built", "Built on", "built_on", 0},
    {"current", "Current", "current", 0},
    {"behind", "Updates behind", "updates_behind", 1},
    {"days", "Days behind", "days_behind", 1},
    {"status", "Status", "status", 0},
    {"class", "Catalog", "class", 0},
    {"team", "Team", "team", 0},
    {"missing", "Missing packages", "missing", 0},
};
#define NHCOLS (sizeof(hcols) / sizeof(hcols[0]))

typedef struct agg {
    const char *name;
    long long total, stale, behind;
} agg;

static int
cmp_agg(const void *a, const void *b)
{
    const agg *x = a, *y = b;

    if (x->stale != y->stale)
        return x->stale > y->stale ? -1 : 1;
    if (x->total != y->total)
        return x->total > y->total ? -1 : 1;
    return strcmp(x->name, y->name);
}

static void
chart(strata_buf *b, const json_t *rows, const char *key, const char *none,
      const char *id, const char *caption)
{
    strata_strmap *m = strata_strmap_new();
    agg *v = strata_xcalloc(json_array_size(rows) + 1, sizeof(*v));
    size_t n = 0, i, shown;
    long long max = 1;
    const json_t *row;
    const int bar_w = 320, label_w = 340, row_h = 22;

    json_array_foreach (rows, i, row) {
        const char *name = strata_report__str(row, key, none);
        const char *status = strata_report__str(row, "status", "");
        agg *a = strata_strmap_get(m, name);

        if (a == NULL) {
            a = &v[n++];
            a->name = name;
            strata_strmap_put(m, name, a);
        }
        a->total++;
        a->stale += strcmp(status, "stale") == 0;
        a->behind += strcmp(status, "behind") == 0;
        if (a->total > max)
            max = a->total;
    }
    qsort(v, n, sizeof(*v), cmp_agg);
    shown = n < MAX_BARS ? n : MAX_BARS;
    strata_buf_printf(b, "<figure id=\"%s\"><figcaption>", id);
    strata_html_escape(b, caption);
    strata_buf_printf(b,
                      "</figcaption><svg xmlns=\"http://www.w3.org/2000/svg\" "
                      "role=\"img\" width=\"%d\" height=\"%d\" "
                      "viewBox=\"0 0 %d %d\">",
                      label_w + bar_w + 90, (int) (shown ? shown : 1) * row_h,
                      label_w + bar_w + 90, (int) (shown ? shown : 1) * row_h);
    if (n == 0)
        strata_buf_printf(b, "<text x=\"0\" y=\"15\">no images</text>");
    for (i = 0; i < shown; i++) {
        int y = (int) i * row_h;
        int wt = (int) (v[i].total * bar_w / max);
        int ws = (int) (v[i].stale * bar_w / max);
        int wb = (int) (v[i].behind * bar_w / max);

        strata_buf_puts(b, "<g class=\"bar\"><title>");
        strata_html_escape(b, v[i].name);
        strata_buf_printf(b, ": %lld stale, %lld behind, %lld in all</title>",
                          v[i].stale, v[i].behind, v[i].total);
        strata_buf_printf(b, "<text x=\"0\" y=\"%d\">", y + 15);
        strata_html_escape(b, v[i].name);
        strata_buf_printf(b,
                          "</text><rect class=\"bar-total\" x=\"%d\" y=\"%d\" "
                          "width=\"%d\" height=\"16\"/>",
                          label_w, y + 3, wt);
        strata_buf_printf(b,
                          "<rect class=\"bar-stale\" x=\"%d\" y=\"%d\" "
                          "width=\"%d\" height=\"16\"/>",
                          label_w, y + 3, ws);
        strata_buf_printf(b,
                          "<rect class=\"bar-behind\" x=\"%d\" y=\"%d\" "
                          "width=\"%d\" height=\"16\"/>",
                          label_w + ws, y + 3, wb);
        strata_buf_printf(b, "<text x=\"%d\" y=\"%d\">%lld/%lld</text></g>",
                          label_w + wt + 6, y + 15, v[i].stale, v[i].total);
    }
    strata_buf_puts(b, "</svg>");
    if (n > shown)
        strata_buf_printf(b, "<p>and %zu more</p>", n - shown);
    strata_buf_puts(b, "</figure>");
    free(v);
    strata_strmap_free(m);
}

static void
card(strata_buf *b, const json_t *sum, const char *key, const char *label)
{
    strata_buf_printf(b, "<div class=\"card %s\"><b>%lld</b>%s</div>", key,
                      (long long) json_integer_value(json_object_get(sum, key)),
                      label);
}

static void
cell(strata_buf *b, const json_t *row, const hcol *c)
{
    const json_t *v = json_object_get(row, c->field);
    char num[32];
    const char *text = "", *cls = c->num ? "num" : c->key;

    if (json_is_integer(v)) {
        snprintf(num, sizeof(num), "%lld", (long long) json_integer_value(v));
        text = num;
    } else if (json_is_string(v)) {
        text = json_string_value(v);
    }
    if (strcmp(c->key, "class") == 0)
        cls = text;
    strata_buf_puts(b, "<td class=\"");
    strata_html_escape(b, cls);
    strata_buf_puts(b, "\" data-v=\"");
    strata_html_escape(b, text);
    strata_buf_puts(b, "\">");
    if (strncmp(text, "sha256:", 7) == 0) {
        /* The full digest in the tooltip, a short one on screen. */
        char shortd[20];
        snprintf(shortd, sizeof(shortd), "%.19s", text);
        strata_buf_puts(b, "<code title=\"");
        strata_html_escape(b, text);
        strata_buf_puts(b, "\">");
        strata_html_escape(b, shortd);
        strata_buf_puts(b, "</code>");
    } else {
        strata_html_escape(b, text);
    }
    strata_buf_puts(b, "</td>");
}

void
strata_report__render_html(strata_buf *b, const json_t *report)
{
    const json_t *sum = json_object_get(report, "summary");
    const json_t *rows = json_object_get(report, "rows"), *row;
    size_t i, k;

    strata_buf_printf(b,
                      "<!DOCTYPE html>\n<html lang=\"en\"><head>"
                      "<meta charset=\"utf-8\">"
                      "<meta name=\"viewport\" content=\"width=device-width"
                      "\"><title>strata: stale base images</title>"
                      "<style>%s</style></head><body>\n",
                      css);
    strata_buf_puts(b, "<h1>Stale base images</h1><p class=\"gen\">Generated ");
    strata_html_escape(b, strata_report__str(report, "generated", ""));
    strata_buf_puts(b, " by strata</p>\n<section id=\"summary\">");
    card(b, sum, "images", "images");
    card(b, sum, "stale", "stale");
    card(b, sum, "behind", "behind");
    card(b, sum, "current", "current");
    card(b, sum, "unknown", "unknown");
    card(b, sum, "non-golden", "non-golden");
    card(b, sum, "deprecated", "deprecated");
    strata_buf_puts(b, "</section>\n<section id=\"charts\">");
    chart(b, rows, "base", "(none)", "chart-base", "Staleness by base");
    chart(b, rows, "team", "(no team)", "chart-team", "Staleness by team");
    strata_buf_puts(b, "</section>\n<p><input id=\"filter\" type=\"search\" "
                       "placeholder=\"Filter rows\" aria-label=\"Filter rows\">"
                       "<span id=\"count\"></span></p>\n"
                       "<table id=\"report\"><thead><tr>");
    for (k = 0; k < NHCOLS; k++)
        strata_buf_printf(b,
                          "<th data-key=\"%s\" data-type=\"%s\" "
                          "aria-sort=\"none\">%s</th>",
                          hcols[k].key, hcols[k].num ? "num" : "text",
                          hcols[k].title);
    strata_buf_puts(b, "</tr></thead>\n<tbody>\n");
    json_array_foreach (rows, i, row) {
        strata_buf_puts(b, "<tr class=\"");
        strata_html_escape(b, strata_report__str(row, "status", ""));
        strata_buf_puts(b, "\">");
        for (k = 0; k < NHCOLS; k++)
            cell(b, row, &hcols[k]);
        strata_buf_puts(b, "</tr>\n");
    }
    strata_buf_printf(b,
                      "</tbody></table>\n<script>%s</script>\n"
                      "</body></html>\n",
                      script);
}
