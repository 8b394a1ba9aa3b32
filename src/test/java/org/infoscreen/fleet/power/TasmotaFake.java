package org.infoscreen.fleet.power;

import com.github.tomakehurst.wiremock.client.ResponseDefinitionBuilder;
import com.github.tomakehurst.wiremock.http.Request;

import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static com.github.tomakehurst.wiremock.client.WireMock.aResponse;

/**
 * A Tasmota device with one relay: {@code GET /cm?cmnd=…} with {@code Power1}, {@code Power1 On|Off}
 * and {@code Backlog Power1 Off; Delay N; Power1 On} (Delay in tenths of a second, run by the
 * device). Answers {@code {"POWER":"ON"}} (single relay: key POWER, as Tasmota does). With a web
 * password, {@code user} and {@code password} query parameters are required; wrong or missing →
 * HTTP 200 {@code {"WARNING":"Need user=<username>&password=<password>"}}.
 */
public final class TasmotaFake extends FakeDevice {

    private static final Pattern POWER = Pattern.compile("(?i)power1?(?:\\s+(on|off))?");
    private final String password;

    /** @param password the web password, or {@code null} */
    public TasmotaFake(String password) {
        super(false);
        this.password = password;
    }

    @Override
    protected ResponseDefinitionBuilder answer(Request request) {
        if (!request.getUrl().startsWith("/cm")) {
            return aResponse().withStatus(404);
        }
        Map<String, String> q = query(request.getUrl());
        if (password != null && (!"admin".equals(q.get("user")) || !password.equals(q.get("password")))) {
            return json(200, "{\"WARNING\":\"Need user=<username>&password=<password>\"}");
        }
        String cmnd = q.getOrDefault("cmnd", "").trim();
        if (cmnd.regionMatches(true, 0, "Backlog ", 0, 8)) {
            String[] parts = cmnd.substring(8).split(";");
            double delay = 0;
            boolean first = true;
            for (String part : parts) {
                String p = part.trim();
                Matcher d = Pattern.compile("(?i)delay\\s+(\\d+)").matcher(p);
                Matcher m = POWER.matcher(p);
                if (d.matches()) {
                    delay += Integer.parseInt(d.group(1)) / 10.0;
                } else if (m.matches() && m.group(1) != null) {
                    boolean on = m.group(1).equalsIgnoreCase("on");
                    if (delay == 0) {
                        set(0, on, "Backlog " + p);
                    } else {
                        setLater(0, on, delay, "Backlog " + p + " after Delay");
                    }
                } else {
                    return json(200, "{\"Command\":\"Unknown\"}");
                }
                first = false;
            }
            return json(200, "{\"POWER\":\"" + (isOn(0) ? "ON" : "OFF") + "\"}");
        }
        Matcher m = POWER.matcher(cmnd);
        if (!m.matches()) {
            return json(200, "{\"Command\":\"Unknown\"}");
        }
        if (m.group(1) != null) {
            set(0, m.group(1).equalsIgnoreCase("on"), "Power1 " + m.group(1));
        }
        return json(200, "{\"POWER\":\"" + (isOn(0) ? "ON" : "OFF") + "\"}");
    }

    private static Map<String, String> query(String url) {
        Map<String, String> q = new LinkedHashMap<>();
        int i = url.indexOf('?');
        if (i < 0) {
            return q;
        }
        for (String pair : url.substring(i + 1).split("&")) {
            int e = pair.indexOf('=');
            if (e > 0) {
                q.put(URLDecoder.decode(pair.substring(0, e), StandardCharsets.UTF_8), URLDecoder.decode(pair.substring(e + 1), StandardCharsets.UTF_8));
            }
        }
        return q;
    }
}
