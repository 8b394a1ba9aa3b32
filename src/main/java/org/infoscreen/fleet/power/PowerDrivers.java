package org.infoscreen.fleet.power;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import org.infoscreen.fleet.rest.ApiException;
import org.infoscreen.fleet.support.Text;

import java.io.IOException;
import java.io.InputStream;
import java.net.URL;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.regex.Pattern;
import java.util.regex.PatternSyntaxException;

/**
 * The catalogue of power drivers: kamelet files {@code <driver>-power-action.kamelet.yaml} found in
 * the same locations the kamelet component loads them from ({@code file:<routes>/kamelets} first,
 * then the copy in the jar). A file dropped into the folder is found on the next request; a changed
 * file is read again (the kamelet component itself keeps a driver's route until restart).
 *
 * <p>It validates power-target parameters against a driver's declared schema and builds the one
 * kamelet endpoint URI per driver that the shared power route calls: every declared parameter is
 * bound to the exchange property {@code powerParams[<name>]} (the secret to {@code powerSecret}),
 * so {@code {{host}}} in a driver becomes {@code ${exchangeProperty.powerParams[host]}}, evaluated
 * per message. One route instance per driver, never one per power target, and no parameter value
 * (least of all a secret) ever appears in an endpoint URI.
 */
public class PowerDrivers {

    /** Annotation listing the supported operations, comma separated. */
    public static final String OPERATIONS_ANNOTATION = "fleet.infoscreen.org/power-operations";
    /** Annotation listing the parameters that identify the outlet, comma separated. */
    public static final String OUTLET_KEY_ANNOTATION = "fleet.infoscreen.org/outlet-key";
    private static final Set<String> OPERATIONS = Set.of("query", "on", "off", "cycle");
    private static final Set<String> TYPES = Set.of("string", "integer", "number", "boolean");
    private static final Pattern NAME = Pattern.compile("[a-z0-9][a-z0-9-]{0,62}");
    private static final Pattern PARAM_NAME = Pattern.compile("[a-z][a-z0-9_]{0,62}");
    private static final int MAX_STRING = 2048;

    private final ObjectMapper yaml = new ObjectMapper(new YAMLFactory());
    private final ObjectMapper json;
    private final List<String> locations;
    private final Map<String, Cached> cache = new ConcurrentHashMap<>();

    private record Cached(long modified, PowerDriver driver) {
    }

    /**
     * @param json      the service's JSON mapper
     * @param locations comma-separated kamelet locations as given to the kamelet component, e.g.
     *                  {@code file:routes/kamelets,classpath:routes/kamelets}
     */
    public PowerDrivers(ObjectMapper json, String locations) {
        this.json = json;
        this.locations = Arrays.stream(locations.split(",")).map(String::trim).filter(s -> !s.isEmpty()).toList();
    }

    /**
     * @param name driver name, e.g. {@code shelly-gen2}
     * @return the driver
     * @throws ApiException 400 {@code unknown_driver} when no location has its file, 400
     *                      {@code invalid_driver} when the file is not a usable power driver
     */
    public PowerDriver driver(String name) {
        if (name == null || !NAME.matcher(name).matches()) {
            throw new ApiException(400, "unknown_driver", "driver must be a name of lower-case letters, digits and '-', e.g. shelly-gen2");
        }
        String file = name + "-power-action.kamelet.yaml";
        for (String location : locations) {
            if (location.startsWith("classpath:")) {
                String dir = location.substring("classpath:".length()).replaceAll("^/+", "").replaceAll("/+$", "");
                URL url = PowerDrivers.class.getClassLoader().getResource(dir + "/" + file);
                if (url != null) {
                    return cache.computeIfAbsent("classpath:" + name, k -> new Cached(0, read(name, url))).driver();
                }
            } else {
                Path path = Path.of(location.startsWith("file:") ? location.substring("file:".length()) : location).resolve(file);
                if (Files.isRegularFile(path)) {
                    long modified;
                    try {
                        modified = Files.getLastModifiedTime(path).toMillis();
                    } catch (IOException e) {
                        continue;
                    }
                    Cached c = cache.get(path.toString());
                    if (c == null || c.modified() != modified) {
                        try {
                            c = new Cached(modified, read(name, path.toUri().toURL()));
                        } catch (java.net.MalformedURLException e) {
                            throw new IllegalStateException(e);
                        }
                        cache.put(path.toString(), c);
                    }
                    return c.driver();
                }
            }
        }
        throw new ApiException(400, "unknown_driver", "no power driver '" + name + "': there is no " + file
                + " in the kamelets folder (see docs/power-drivers.md)");
    }

    /**
     * Checks a power target's parameters against the driver's schema.
     *
     * @param driver the driver
     * @param params the {@code params} object of the request ({@code null} = empty)
     * @param secretRef the request's {@code secret_ref}, or {@code null}
     * @return the parameters as given (defaults are not stored, so a changed default applies)
     * @throws ApiException 400 {@code invalid_params} naming the missing, unknown or malformed
     *                      parameters; 400 {@code invalid_secret_ref} when the driver needs a secret
     *                      and none is referenced, or one is referenced that the driver has no use for
     */
    public Map<String, Object> validate(PowerDriver driver, JsonNode params, String secretRef) {
        if (params != null && !params.isNull() && !params.isObject()) {
            throw new ApiException(400, "invalid_params", "params must be a JSON object");
        }
        Map<String, Object> out = new LinkedHashMap<>();
        List<String> unknown = new ArrayList<>();
        List<String> problems = new ArrayList<>();
        List<String> invalidNames = new ArrayList<>();
        java.util.Set<String> present = new java.util.HashSet<>();
        if (params != null && params.isObject()) {
            var fields = params.fields();
            while (fields.hasNext()) {
                var f = fields.next();
                PowerDriver.Property p = driver.properties().get(f.getKey());
                if (p == null) {
                    unknown.add(Text.abbreviate(f.getKey()));
                    continue;
                }
                if (p.secret()) {
                    problems.add("'" + p.name() + "' is a secret: it is never stored; set it in the environment and name it in secret_ref");
                    continue;
                }
                if (f.getValue().isNull()) {
                    continue;
                }
                present.add(p.name());
                String problem = check(p, f.getValue());
                if (problem != null) {
                    problems.add(problem);
                    invalidNames.add(p.name());
                    continue;
                }
                out.put(p.name(), value(p, f.getValue()));
            }
        }
        List<String> missing = new ArrayList<>();
        for (String r : driver.required()) {
            PowerDriver.Property p = driver.properties().get(r);
            if (p != null && !p.secret() && !present.contains(r) && p.defaultValue() == null) {
                missing.add(r);
            }
        }
        if (!unknown.isEmpty() || !missing.isEmpty() || !problems.isEmpty()) {
            List<String> parts = new ArrayList<>();
            if (!missing.isEmpty()) {
                parts.add("missing: " + String.join(", ", missing));
            }
            if (!unknown.isEmpty()) {
                parts.add("unknown: " + String.join(", ", unknown) + " (driver " + driver.name() + " takes "
                        + String.join(", ", driver.properties().keySet()) + ")");
            }
            parts.addAll(problems);
            Map<String, Object> extra = new LinkedHashMap<>();
            extra.put("missing", missing);
            extra.put("unknown", unknown);
            extra.put("invalid", invalidNames);
            throw new ApiException(400, "invalid_params", "invalid params for driver " + driver.name() + ": "
                    + String.join("; ", parts), extra, null);
        }
        boolean secretRequired = driver.secretProperty() != null && driver.required().contains(driver.secretProperty());
        if (secretRequired && secretRef == null) {
            throw new ApiException(400, "invalid_secret_ref", "driver " + driver.name() + " needs a secret ('"
                    + driver.secretProperty() + "'): name the environment variable that holds it in secret_ref");
        }
        if (driver.secretProperty() == null && secretRef != null) {
            throw new ApiException(400, "invalid_secret_ref", "driver " + driver.name() + " takes no secret; leave secret_ref out");
        }
        return out;
    }

    /**
     * @param driver the driver
     * @param stored the stored parameters of a power target
     * @return the parameters with the driver's defaults filled in (what the kamelet receives)
     */
    public Map<String, Object> withDefaults(PowerDriver driver, Map<String, Object> stored) {
        Map<String, Object> out = new LinkedHashMap<>();
        driver.properties().values().forEach(p -> {
            if (!p.secret() && p.defaultValue() != null) {
                out.put(p.name(), p.defaultValue());
            }
        });
        out.putAll(stored);
        return out;
    }

    /**
     * @param driver the driver
     * @param stored the stored parameters of a power target
     * @return the outlet's identity: driver plus the identifying parameters (defaults filled in),
     *         canonical JSON with sorted keys; two clients on one outlet get the same key
     */
    public String outletKey(PowerDriver driver, Map<String, Object> stored) {
        Map<String, Object> all = withDefaults(driver, stored);
        TreeMap<String, Object> key = new TreeMap<>();
        for (String name : driver.outletKeys()) {
            Object v = all.get(name);
            if (v != null) {
                key.put(name, v instanceof String s ? s.toLowerCase(java.util.Locale.ROOT) : v);
            }
        }
        try {
            return driver.name() + ":" + json.writeValueAsString(key);
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    /**
     * @param driver the driver
     * @return the kamelet endpoint the shared power route sends to: one fixed URI per driver, every
     *         declared parameter bound to the exchange property {@code powerParams} (the secret to
     *         {@code powerSecret})
     */
    public String endpointUri(PowerDriver driver) {
        StringBuilder uri = new StringBuilder("kamelet:").append(driver.kamelet());
        char sep = '?';
        for (PowerDriver.Property p : driver.properties().values()) {
            uri.append(sep).append(p.name()).append("=RAW(")
                    .append(p.secret() ? "${exchangeProperty.powerSecret}" : "${exchangeProperty.powerParams[" + p.name() + "]}")
                    .append(')');
            sep = '&';
        }
        return uri.toString();
    }

    private static String check(PowerDriver.Property p, JsonNode v) {
        String bad = "'" + p.name() + "' must be ";
        switch (p.type()) {
            case "string" -> {
                if (!v.isTextual()) {
                    return bad + "a string";
                }
                String s = v.asText();
                if (s.length() > MAX_STRING || s.indexOf('\0') >= 0) {
                    return bad + "a string of at most " + MAX_STRING + " characters without NUL";
                }
                if (p.pattern() != null && !Pattern.compile(p.pattern()).matcher(s).matches()) {
                    return bad + "a string matching " + p.pattern();
                }
                if ("regex".equals(p.format())) {
                    try {
                        Pattern.compile(s);
                    } catch (PatternSyntaxException e) {
                        return bad + "a valid regular expression (Java): " + Text.abbreviate(e.getDescription()) + " at index " + e.getIndex();
                    }
                }
            }
            case "integer" -> {
                if (!v.isIntegralNumber() || !v.canConvertToLong()) {
                    return bad + "an integer";
                }
            }
            case "number" -> {
                if (!v.isNumber()) {
                    return bad + "a number";
                }
            }
            case "boolean" -> {
                if (!v.isBoolean()) {
                    return bad + "true or false";
                }
            }
            default -> {
                return bad + "of type " + p.type();
            }
        }
        if (v.isNumber() && p.minimum() != null && v.asDouble() < p.minimum()) {
            return bad + "at least " + trim(p.minimum());
        }
        if (v.isNumber() && p.maximum() != null && v.asDouble() > p.maximum()) {
            return bad + "at most " + trim(p.maximum());
        }
        if (!p.enumValues().isEmpty() && !p.enumValues().contains(valueOf(v))) {
            return bad + "one of " + p.enumValues();
        }
        return null;
    }

    private com.fasterxml.jackson.databind.JsonNode number(double d) {
        return d == Math.rint(d) && Math.abs(d) < 1e15 ? json.getNodeFactory().numberNode((long) d) : json.getNodeFactory().numberNode(d);
    }

    private static String trim(double d) {
        return d == Math.rint(d) ? String.valueOf((long) d) : String.valueOf(d);
    }

    private static Object value(PowerDriver.Property p, JsonNode v) {
        return switch (p.type()) {
            case "integer" -> v.asLong();
            case "number" -> v.asDouble();
            case "boolean" -> v.asBoolean();
            default -> v.asText();
        };
    }

    private static Object valueOf(JsonNode v) {
        if (v.isIntegralNumber()) {
            return v.asLong();
        }
        if (v.isNumber()) {
            return v.asDouble();
        }
        if (v.isBoolean()) {
            return v.asBoolean();
        }
        return v.asText();
    }

    private PowerDriver read(String name, URL url) {
        JsonNode root;
        try (InputStream in = url.openStream()) {
            root = yaml.readTree(in);
        } catch (IOException e) {
            throw invalid(name, "the file is not valid YAML: " + Text.abbreviate(e.getMessage()));
        }
        String kamelet = name + "-power-action";
        if (root == null || !"Kamelet".equals(root.path("kind").asText())) {
            throw invalid(name, "the file is not a Kamelet (kind: Kamelet)");
        }
        if (!kamelet.equals(root.path("metadata").path("name").asText())) {
            throw invalid(name, "metadata.name must be " + kamelet + " (the file name without .kamelet.yaml)");
        }
        String ops = root.path("metadata").path("annotations").path(OPERATIONS_ANNOTATION).asText("");
        Set<String> operations = new LinkedHashSet<>();
        for (String op : ops.split(",")) {
            if (!op.isBlank()) {
                if (!OPERATIONS.contains(op.trim())) {
                    throw invalid(name, "annotation " + OPERATIONS_ANNOTATION + " lists an unknown operation '" + Text.abbreviate(op.trim())
                            + "' (known: query, on, off, cycle)");
                }
                operations.add(op.trim());
            }
        }
        if (!operations.contains("on")) {
            throw invalid(name, "annotation " + OPERATIONS_ANNOTATION + " must list at least 'on' (e.g. \"query,on,off,cycle\")");
        }
        JsonNode definition = root.path("spec").path("definition");
        Map<String, PowerDriver.Property> properties = new LinkedHashMap<>();
        String secret = null;
        var fields = definition.path("properties").fields();
        while (fields.hasNext()) {
            var f = fields.next();
            if (!PARAM_NAME.matcher(f.getKey()).matches()) {
                throw invalid(name, "parameter name '" + Text.abbreviate(f.getKey()) + "' must be lower-case letters, digits and '_'");
            }
            JsonNode d = f.getValue();
            String type = d.path("type").asText("string");
            if (!TYPES.contains(type)) {
                throw invalid(name, "parameter " + f.getKey() + " has type '" + Text.abbreviate(type) + "'; use string, integer, number or boolean");
            }
            boolean isSecret = "password".equals(d.path("format").asText());
            if (isSecret) {
                if (secret != null) {
                    throw invalid(name, "only one parameter may be a secret (format: password)");
                }
                secret = f.getKey();
            }
            List<Object> enums = new ArrayList<>();
            d.path("enum").forEach(e -> enums.add(valueOf(e)));
            String pattern = d.hasNonNull("pattern") ? d.get("pattern").asText() : null;
            if (pattern != null) {
                try {
                    Pattern.compile(pattern);
                } catch (PatternSyntaxException e) {
                    throw invalid(name, "parameter " + f.getKey() + " has an invalid pattern");
                }
            }
            Object dflt = d.hasNonNull("default") ? valueOf(d.get("default")) : null;
            properties.put(f.getKey(), new PowerDriver.Property(f.getKey(), type, d.path("title").asText(f.getKey()),
                    d.path("description").asText(""), d.hasNonNull("example") ? valueOf(d.get("example")) : null, dflt, isSecret,
                    Collections.unmodifiableList(enums), pattern,
                    d.hasNonNull("minimum") ? d.get("minimum").asDouble() : null,
                    d.hasNonNull("maximum") ? d.get("maximum").asDouble() : null,
                    d.hasNonNull("format") ? d.get("format").asText() : null));
        }
        List<String> required = new ArrayList<>();
        definition.path("required").forEach(r -> required.add(r.asText()));
        for (String r : required) {
            if (!properties.containsKey(r)) {
                throw invalid(name, "required parameter " + r + " is not declared under properties");
            }
        }
        List<String> outletKeys = new ArrayList<>();
        String keyAnnotation = root.path("metadata").path("annotations").path(OUTLET_KEY_ANNOTATION).asText("");
        for (String k : keyAnnotation.split(",")) {
            if (!k.isBlank()) {
                if (!properties.containsKey(k.trim()) || properties.get(k.trim()).secret()) {
                    throw invalid(name, "annotation " + OUTLET_KEY_ANNOTATION + " names '" + Text.abbreviate(k.trim())
                            + "', which is not a declared non-secret parameter");
                }
                outletKeys.add(k.trim());
            }
        }
        if (outletKeys.isEmpty()) {
            properties.values().stream().filter(p -> !p.secret()).forEach(p -> outletKeys.add(p.name()));
        }
        return new PowerDriver(name, kamelet, definition.path("title").asText(name), definition.path("description").asText(""),
                Collections.unmodifiableSet(operations), Collections.unmodifiableMap(properties), List.copyOf(required), secret,
                List.copyOf(outletKeys));
    }

    private static ApiException invalid(String name, String why) {
        return new ApiException(400, "invalid_driver", "power driver " + name + " cannot be used: " + why);
    }

    /**
     * @param name driver name
     * @return {@link #describe(PowerDriver)} as JSON text
     * @throws ApiException 400 {@code unknown_driver} / {@code invalid_driver}
     */
    public String describeJson(String name) {
        return describe(driver(name)).toString();
    }

    /**
     * @param driver the driver
     * @return the driver as the REST API describes it: name, title, description, operations,
     *         native_cycle, required, properties (JSON schema subset)
     */
    public ObjectNode describe(PowerDriver driver) {
        ObjectNode d = json.createObjectNode();
        d.put("name", driver.name());
        d.put("title", driver.title());
        d.put("description", driver.description());
        driver.operations().forEach(d.putArray("operations")::add);
        d.put("native_cycle", driver.plan() == PowerDriver.Plan.NATIVE);
        driver.required().forEach(d.putArray("required")::add);
        ObjectNode props = d.putObject("properties");
        driver.properties().values().forEach(p -> {
            ObjectNode o = props.putObject(p.name());
            o.put("type", p.type());
            o.put("title", p.title());
            o.put("description", p.description());
            if (p.secret()) {
                o.put("format", "password");
            } else if (p.format() != null) {
                o.put("format", p.format());
            }
            if (!p.enumValues().isEmpty()) {
                o.set("enum", json.valueToTree(p.enumValues()));
            }
            if (p.pattern() != null) {
                o.put("pattern", p.pattern());
            }
            if (p.minimum() != null) {
                o.set("minimum", number(p.minimum()));
            }
            if (p.maximum() != null) {
                o.set("maximum", number(p.maximum()));
            }
            if (p.secret()) {
                // a secret's value is never shown, not even a default or example
                return;
            }
            if (p.defaultValue() != null) {
                o.set("default", json.valueToTree(p.defaultValue()));
            }
            if (p.example() != null) {
                o.set("example", json.valueToTree(p.example()));
            }
        });
        return d;
    }
}
