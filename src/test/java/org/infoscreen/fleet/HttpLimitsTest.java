package org.infoscreen.fleet;

import org.infoscreen.fleet.security.Role;
import org.junit.jupiter.api.Test;

import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.Map;
import java.util.UUID;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * Requests over the HTTP server's limits get a JSON error like every other refusal, and a
 * client's oversize request is no server error in the log: a body over {@code API_MAX_BODY_BYTES}
 * is 413 {@code body_too_large} with at most one WARN/DEBUG line and no ERROR or stack trace;
 * a request line over Vert.x's limit (4096 bytes) is 414, headers over theirs (8192 bytes) are
 * 431 — both without a body, answered by Vert.x's HTTP codec before any handler (docs/api.md says
 * why they cannot be JSON). The ERROR this class guards against showed in a service process
 * (curl, chunked 30 MB); {@link BodyLimitLogTest} checks that one.
 */
class HttpLimitsTest extends FleetTestSupport {

    private static final LogCapture LOG = LogCapture.start();
    /** HTTP/1.1 as curl, probes and proxies send it (the default client upgrades to HTTP/2) */
    private final java.net.http.HttpClient http11 = java.net.http.HttpClient.newBuilder()
            .version(java.net.http.HttpClient.Version.HTTP_1_1).connectTimeout(Duration.ofSeconds(5)).build();

    private HttpResponse<String> send11(String method, String path, String body, Map<String, String> headers) {
        return send11(method, path, body, false, headers);
    }

    /** @param chunked send the body with {@code Transfer-Encoding: chunked} (no length known up front) */
    private HttpResponse<String> send11(String method, String path, String body, boolean chunked, Map<String, String> headers) {
        try {
            var b = java.net.http.HttpRequest.newBuilder(java.net.URI.create("http://127.0.0.1:" + httpPort() + path))
                    .timeout(Duration.ofSeconds(10))
                    .method(method, body == null ? java.net.http.HttpRequest.BodyPublishers.noBody()
                            : chunked ? java.net.http.HttpRequest.BodyPublishers.ofInputStream(
                                    () -> new java.io.ByteArrayInputStream(body.getBytes(java.nio.charset.StandardCharsets.UTF_8)))
                            : java.net.http.HttpRequest.BodyPublishers.ofString(body))
                    .header("Authorization", "Bearer " + token(Role.OPERATOR));
            if (headers.containsKey("Expect")) {
                // as curl sends a body over 1 KiB: Expect: 100-continue
                b.expectContinue(true);
                headers = new java.util.HashMap<>(headers);
                headers.remove("Expect");
            }
            if (body != null) {
                b.header("Content-Type", "application/json");
            }
            headers.forEach(b::header);
            return http11.send(b.build(), HttpResponse.BodyHandlers.ofString());
        } catch (java.io.IOException e) {
            throw new IllegalStateException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    private String logSince(int offset) {
        return LOG.text().substring(offset);
    }

    @Test
    void aBodyOverTheLimitIs413JsonAndNoErrorInTheLog() {
        UUID uuid = UUID.randomUUID();
        String big = "{\"action\":\"restart_app\",\"reason\":\"" + "x".repeat(70_000) + "\"}";
        int mark = LOG.text().length();
        HttpResponse<String> r = httpPostAs(Role.OPERATOR, "/api/clients/" + uuid + "/commands", big);
        assertError(r, 413, "body_too_large");
        assertThat(json(r.body()).path("message").asText()).contains("65536");
        // the server is fine: the next request is answered normally
        assertThat(http("GET", "/api/clients").statusCode()).isEqualTo(200);
        await().pollDelay(Duration.ofMillis(500)).atMost(Duration.ofSeconds(5)).until(() -> true);
        String log = logSince(mark);
        assertThat(log).doesNotContain("ERROR").doesNotContain("HttpClosedException").doesNotContain("\tat ");
        long lines = log.lines().filter(l -> l.contains("413") || l.toLowerCase().contains("body")).count();
        assertThat(lines).as(log).isLessThanOrEqualTo(1);
    }

    @Test
    void aRequestLineOverTheLimitIs414WithoutBody() {
        // Vert.x's HTTP codec answers before any handler runs: status only, no body (docs/api.md)
        HttpResponse<String> r = send11("GET", "/api/clients?q=" + "a".repeat(10_000), null, Map.of());
        assertThat(r.statusCode()).isEqualTo(414);
        assertThat(r.body()).isEmpty();
    }

    @Test
    void headersOverTheLimitAre431WithoutBody() {
        HttpResponse<String> r = send11("GET", "/api/clients", null, Map.of("X-Padding", "p".repeat(20_000)));
        assertThat(r.statusCode()).isEqualTo(431);
        assertThat(r.body()).isEmpty();
        assertThat(http("GET", "/api/clients").statusCode()).isEqualTo(200);
    }
}
