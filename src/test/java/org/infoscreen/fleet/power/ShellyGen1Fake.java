package org.infoscreen.fleet.power;

import com.fasterxml.jackson.databind.node.ObjectNode;
import com.github.tomakehurst.wiremock.client.ResponseDefinitionBuilder;
import com.github.tomakehurst.wiremock.http.Request;

import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static com.github.tomakehurst.wiremock.client.WireMock.aResponse;

/**
 * A Shelly Gen1 relay: {@code GET /relay/{i}} answers {@code {"ison", "has_timer", …}};
 * {@code ?turn=on|off} switches, {@code &timer=N} flips it back after N seconds. With a login it
 * answers 401 with {@code WWW-Authenticate: Basic realm="shelly1-…"} unless Basic matches.
 */
public final class ShellyGen1Fake extends FakeDevice {

    private static final Pattern RELAY = Pattern.compile("/relay/(\\d+)(?:\\?(.*))?");
    private final String user;
    private final String password;

    /** @param user login user, {@code null} for an open device; @param password its password */
    public ShellyGen1Fake(String user, String password) {
        super(false);
        this.user = user;
        this.password = password;
    }

    @Override
    protected ResponseDefinitionBuilder answer(Request request) {
        if (user != null && !basicOk(request, user, password)) {
            return aResponse().withStatus(401).withHeader("WWW-Authenticate", "Basic realm=\"shelly1-98CDAC2F1234\"").withBody("401 Unauthorized");
        }
        Matcher m = RELAY.matcher(request.getUrl());
        if (!m.matches()) {
            return aResponse().withStatus(404).withBody("Not Found");
        }
        int relay = Integer.parseInt(m.group(1));
        if (relay != 0) {
            return aResponse().withStatus(404).withBody("Not Found");
        }
        String turn = request.queryParameter("turn").isPresent() ? request.queryParameter("turn").firstValue() : null;
        String timer = request.queryParameter("timer").isPresent() ? request.queryParameter("timer").firstValue() : null;
        if (turn != null) {
            if (!turn.equals("on") && !turn.equals("off")) {
                return aResponse().withStatus(400).withBody("Bad turn!");
            }
            boolean on = turn.equals("on");
            set(relay, on, timer != null ? "turn=" + turn + "&timer=" + timer : "turn=" + turn);
            if (timer != null) {
                setLater(relay, !on, Double.parseDouble(timer), "timer");
            }
        }
        ObjectNode r = JSON.createObjectNode();
        r.put("ison", isOn(relay));
        r.put("has_timer", timer != null);
        r.put("timer_duration", timer == null ? 0 : Integer.parseInt(timer));
        r.put("source", "http");
        return json(200, r);
    }
}
