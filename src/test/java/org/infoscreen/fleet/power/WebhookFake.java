package org.infoscreen.fleet.power;

import com.github.tomakehurst.wiremock.client.ResponseDefinitionBuilder;
import com.github.tomakehurst.wiremock.http.Request;

import static com.github.tomakehurst.wiremock.client.WireMock.aResponse;

/**
 * An integrator's home-made outlet service: {@code POST /outlet/7/on}, {@code POST /outlet/7/off},
 * {@code GET /outlet/7} answering {@code {"outlet": 7, "state": "on"}}; Bearer token required
 * (401 with {@code WWW-Authenticate: Bearer} otherwise).
 */
public final class WebhookFake extends FakeDevice {

    private final String token;
    private volatile int queryDelayMillis;

    /** @param token the bearer token it accepts */
    public WebhookFake(String token) {
        super(false);
        this.token = token;
    }

    @Override
    protected ResponseDefinitionBuilder answer(Request request) {
        if (!("Bearer " + token).equals(request.getHeader("Authorization"))) {
            return aResponse().withStatus(401).withHeader("WWW-Authenticate", "Bearer realm=\"outlets\"");
        }
        String url = request.getUrl();
        String method = request.getMethod().value();
        if ("POST".equals(method) && url.equals("/outlet/7/on")) {
            set(0, true, "POST on");
            return json(200, "{\"ok\":true}");
        }
        if ("POST".equals(method) && url.equals("/outlet/7/off")) {
            set(0, false, "POST off");
            return json(200, "{\"ok\":true}");
        }
        if ("GET".equals(method) && url.equals("/outlet/7")) {
            return json(200, "{\"outlet\": 7, \"state\": \"" + (isOn(0) ? "on" : "off") + "\"}").withFixedDelay(queryDelayMillis);
        }
        return aResponse().withStatus(404);
    }

    /** Answers every state query only after this delay (a slow hub): switching is quick, verification is not. */
    public WebhookFake slowQueries(int millis) {
        this.queryDelayMillis = millis;
        return this;
    }

    /** @return the base URL, e.g. {@code http://127.0.0.1:1234} */
    public String baseUrl() {
        return "http://" + host();
    }
}
