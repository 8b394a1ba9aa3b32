package org.infoscreen.fleet;

import org.infoscreen.fleet.dashboard.DashboardAssets;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.net.http.HttpResponse;
import java.util.List;
import java.util.Properties;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * The dashboard page over HTTP (routes/dashboard.camel.yaml): served at {@code /} from the
 * class path with its media types and security headers, its settings at
 * {@code /assets/config.json}, nothing else of the class path or working directory, and the
 * REST API and health endpoints unchanged beside it. The page in a browser: DashboardBrowserTest.
 */
class DashboardPageTest extends FleetTestSupport {

    @Override
    protected Properties extraProperties() {
        Properties p = new Properties();
        p.setProperty("fleet.dashboard.refresh-interval-s", "7");
        return p;
    }

    @Test
    void pageIsServedAtTheRootWithItsScriptAndStyleSheet() {
        HttpResponse<String> page = httpWithoutToken("GET", "/");
        assertThat(page.statusCode()).isEqualTo(200);
        assertThat(page.headers().firstValue("Content-Type")).hasValue("text/html; charset=utf-8");
        assertThat(page.body()).contains("<title>infoscreen-fleet dashboard</title>")
                .contains("src=\"assets/dashboard.js\"")
                .contains("href=\"assets/dashboard.css\"");

        HttpResponse<String> script = httpWithoutToken("GET", "/assets/dashboard.js");
        assertThat(script.statusCode()).isEqualTo(200);
        assertThat(script.headers().firstValue("Content-Type")).hasValue("text/javascript; charset=utf-8");
        assertThat(script.body()).contains("/api/monitoring/overview");

        HttpResponse<String> css = httpWithoutToken("GET", "/assets/dashboard.css");
        assertThat(css.statusCode()).isEqualTo(200);
        assertThat(css.headers().firstValue("Content-Type")).hasValue("text/css; charset=utf-8");

        HttpResponse<String> icon = httpWithoutToken("GET", "/assets/favicon.svg");
        assertThat(icon.statusCode()).isEqualTo(200);
        assertThat(icon.headers().firstValue("Content-Type")).hasValue("image/svg+xml");
    }

    @Test
    void pageCarriesAStrictContentSecurityPolicyAndIsRevalidated() {
        HttpResponse<String> page = http("GET", "/");
        assertThat(page.headers().firstValue("Content-Security-Policy")).hasValueSatisfying(csp -> assertThat(csp)
                .contains("default-src 'self'").contains("script-src 'self'").contains("frame-ancestors 'none'")
                .doesNotContain("unsafe-inline").doesNotContain("unsafe-eval"));
        assertThat(page.headers().firstValue("X-Content-Type-Options")).hasValue("nosniff");
        assertThat(page.headers().firstValue("Referrer-Policy")).hasValue("no-referrer");
        assertThat(page.headers().firstValue("Cache-Control")).hasValue("no-cache");
    }

    @Test
    void configTellsThePageItsRefreshInterval() {
        HttpResponse<String> r = httpWithoutToken("GET", "/assets/config.json");
        assertThat(r.statusCode()).isEqualTo(200);
        assertThat(r.headers().firstValue("Content-Type")).hasValueSatisfying(v -> assertThat(v).startsWith("application/json"));
        assertThat(r.headers().firstValue("Cache-Control")).hasValue("no-cache");
        assertThat(json(r.body()).path("refresh_interval_s").asInt()).isEqualTo(7);
        assertThat(iterable(json(r.body()).fieldNames())).containsExactly("refresh_interval_s");
    }

    @ParameterizedTest
    @ValueSource(strings = {
        "/index.html", "/application.properties", "/log4j2.xml", "/pom.xml", "/routes/rest-api.camel.yaml",
        "/sql/list-clients.sql", "/db/migration/V1__core_schema.sql", "/org/infoscreen/fleet/Application.class",
        "/dashboard/index.html", "/dashboard/dashboard.js", "/dashboard/assets/dashboard.js", "/assets/index.HTML", "/assets/nothing-here.js",
        "/assets/application.properties", "/assets/..%2F..%2Fapplication.properties",
        "/assets/%2e%2e%2fpom.xml", "/assets/.hidden.js", "/assets/dashboard.js.map",
        "/assets/"})
    void nothingButTheDashboardFilesIsServed(String path) {
        // without a token the open dashboard paths answer 404, the rest 401; with one, all 404
        for (HttpResponse<String> r : List.of(httpWithoutToken("GET", path), http("GET", path))) {
            assertThat(r.statusCode()).as(path).isIn(401, 404);
            assertThat(r.body()).doesNotContain("camel.").doesNotContain("CREATE TABLE").doesNotContain("<project");
        }
        assertThat(http("GET", path).statusCode()).as(path + " as admin").isEqualTo(404);
    }

    @Test
    void aMissingFileIsAJsonError() {
        assertError(httpWithoutToken("GET", "/assets/nothing-here.js"), 404, "not_found");
    }

    @ParameterizedTest
    @ValueSource(strings = {"POST", "PUT", "DELETE"})
    void onlyGetAndHeadAreAnswered(String method) {
        assertThat(http(method, "/").statusCode()).isEqualTo(405);
        assertThat(http(method, "/assets/dashboard.js").statusCode()).isEqualTo(405);
        assertThat(http("HEAD", "/").statusCode()).isEqualTo(200);
    }

    @Test
    void restApiHealthAndOpenApiAnswerBesideThePage() {
        HttpResponse<String> clients = http("GET", "/api/clients");
        assertThat(clients.statusCode()).isEqualTo(200);
        assertThat(json(clients.body()).path("clients").isArray()).isTrue();
        assertThat(http("GET", "/api/monitoring/overview").statusCode()).isEqualTo(200);
        assertThat(http("GET", "/observe/health").statusCode()).isEqualTo(200);
        assertError(http("GET", "/api/clients/not-a-uuid"), 400, "invalid_uuid");
        // the page is no REST operation: the API document does not list it
        HttpResponse<String> openApi = http("GET", "/api/openapi.json");
        assertThat(openApi.statusCode()).isEqualTo(200);
        assertThat(json(openApi.body()).path("paths").has("/")).isFalse();
        assertThat(openApi.body()).doesNotContain("/assets");
    }

    @Test
    void refreshIntervalOutsideOneToThreeThousandSixHundredSecondsIsRefused() {
        assertThatThrownBy(() -> new DashboardAssets(0)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("DASHBOARD_REFRESH_S");
        assertThatThrownBy(() -> new DashboardAssets(3601)).isInstanceOf(IllegalArgumentException.class);
        assertThat(new DashboardAssets(3600).config()).isEqualTo("{\"refresh_interval_s\":3600}");
    }
}
