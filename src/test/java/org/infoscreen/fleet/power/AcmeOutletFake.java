package org.infoscreen.fleet.power;

import com.github.tomakehurst.wiremock.client.ResponseDefinitionBuilder;
import com.github.tomakehurst.wiremock.http.Request;

import static com.github.tomakehurst.wiremock.client.WireMock.aResponse;

/**
 * The device behind the integrator-style driver {@code acme-outlet}: {@code PUT
 * /api/v1/outlets/3/state} with {@code ON}/{@code OFF}, {@code GET} the same for the state (plain
 * text), {@code X-Api-Key} required (403 otherwise).
 */
public final class AcmeOutletFake extends FakeDevice {

    private final String apiKey;

    /** @param apiKey the key it accepts */
    public AcmeOutletFake(String apiKey) {
        super(false);
        this.apiKey = apiKey;
    }

    @Override
    protected ResponseDefinitionBuilder answer(Request request) {
        if (!apiKey.equals(request.getHeader("X-Api-Key"))) {
            return aResponse().withStatus(403).withBody("bad key");
        }
        if (!request.getUrl().equals("/api/v1/outlets/3/state")) {
            return aResponse().withStatus(404);
        }
        if ("PUT".equals(request.getMethod().value())) {
            String body = request.getBodyAsString().trim();
            if (!body.equals("ON") && !body.equals("OFF")) {
                return aResponse().withStatus(400).withBody("ON or OFF");
            }
            set(0, body.equals("ON"), "PUT " + body);
        }
        return aResponse().withStatus(200).withHeader("Content-Type", "text/plain").withBody(isOn(0) ? "ON\n" : "OFF\n");
    }
}
