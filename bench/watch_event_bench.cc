// watch_event_us: one pod watch event (a MODIFIED line as the API server sends it: the pod a
// StatefulSet made, ~4.5 KB of JSON) parsed and packed as the watch cache does it, keeping the
// fields status derivation reads (parseWatchEventKeeping, then packKeeping); and
// watch_event_whole_us, the same with the whole object parsed first (json::parse), as before.
// Google Benchmark; bench/run reads its JSON output.
#include <benchmark/benchmark.h>

#include <string>

#include "kube/cache/field_mask_parse.h"
#include "kube/cache/packed_list.h"
#include "sandboxd/kube/field_mask.h"
#include "sandboxd/kube/kube_client.h"
#include "sandboxd/service/sandbox_cache.h"

namespace {

const std::string& podEvent() {
  static const std::string text =
    R"j({"type":"MODIFIED","object":{"apiVersion":"v1","kind":"Pod","metadata":{"name":"sc-0-0","n)j"
    R"j(amespace":"scale-bfd45554","uid":"6005f44c-fdb1-49cc-8d25-4515285a4753","resourceVersion":)j"
    R"j("40250","generation":1,"creationTimestamp":"2026-12-01T10:52:31Z","labels":{"app":"sc-0",")j"
    R"j(app.kubernetes.io/managed-by":"sandboxd","apps.kubernetes.io/pod-index":"0","cloud.sealos.)j"
    R"j(io/app-deploy-manager":"sc-0","controller-revision-hash":"sc-0-5d8f7c9b4","sandboxd.io/own)j"
    R"j(er":"bench","sandboxd.io/sandbox-id":"390f8abd-9709-4187-b7ff-d2e8b6fdf0b9","statefulset.k)j"
    R"j(ubernetes.io/pod-name":"sc-0-0"},"managedFields":[{"manager":"unknown","operation":"Update)j"
    R"j(","apiVersion":"v1","time":"2026-12-01T10:52:31Z","fieldsType":"FieldsV1","fieldsV1":{"f:m)j"
    R"j(etadata":{"f:labels":{".":{},"f:app":{},"f:app.kubernetes.io/managed-by":{},"f:apps.kubern)j"
    R"j(etes.io/pod-index":{},"f:cloud.sealos.io/app-deploy-manager":{},"f:controller-revision-has)j"
    R"j(h":{},"f:sandboxd.io/owner":{},"f:sandboxd.io/sandbox-id":{},"f:statefulset.kubernetes.io/)j"
    R"j(pod-name":{}}},"f:spec":{"f:containers":{"k:{\"name\":\"sandbox\"}":{".":{},"f:image":{},")j"
    R"j(f:imagePullPolicy":{},"f:name":{},"f:resources":{},"f:terminationMessagePath":{},"f:termin)j"
    R"j(ationMessagePolicy":{},"f:volumeMounts":{".":{},"k:{\"mountPath\":\"/home/agent\"}":{".":{)j"
    R"j(},"f:mountPath":{},"f:name":{}}}}},"f:dnsPolicy":{},"f:enableServiceLinks":{},"f:hostname")j"
    R"j(:{},"f:nodeName":{},"f:restartPolicy":{},"f:schedulerName":{},"f:securityContext":{},"f:su)j"
    R"j(bdomain":{},"f:terminationGracePeriodSeconds":{},"f:volumes":{".":{},"k:{\"name\":\"vn-hom)j"
    R"j(evn-agent\"}":{".":{},"f:name":{},"f:persistentVolumeClaim":{".":{},"f:claimName":{}}}}}}})j"
    R"j(,{"manager":"unknown","operation":"Update","apiVersion":"v1","time":"2026-12-01T10:52:31Z")j"
    R"j(,"fieldsType":"FieldsV1","fieldsV1":{"f:status":{"f:conditions":{".":{},"k:{\"type\":\"Con)j"
    R"j(tainersReady\"}":{".":{},"f:lastProbeTime":{},"f:lastTransitionTime":{},"f:status":{},"f:t)j"
    R"j(ype":{}},"k:{\"type\":\"Initialized\"}":{".":{},"f:lastProbeTime":{},"f:lastTransitionTime)j"
    R"j(":{},"f:status":{},"f:type":{}},"k:{\"type\":\"PodScheduled\"}":{".":{},"f:lastProbeTime":)j"
    R"j({},"f:lastTransitionTime":{},"f:status":{},"f:type":{}},"k:{\"type\":\"Ready\"}":{".":{},")j"
    R"j(f:lastProbeTime":{},"f:lastTransitionTime":{},"f:status":{},"f:type":{}}},"f:containerStat)j"
    R"j(uses":{},"f:phase":{},"f:podIP":{},"f:podIPs":{".":{},"k:{\"ip\":\"10.0.0.1\"}":{".":{},"f)j"
    R"j(:ip":{}}},"f:startTime":{}}},"subresource":"status"}]},"spec":{"volumes":[{"name":"vn-home)j"
    R"j(vn-agent","persistentVolumeClaim":{"claimName":"vn-homevn-agent-sc-0-0"}},{"name":"kube-ap)j"
    R"j(i-access-zcc4d","projected":{"sources":[{"serviceAccountToken":{"expirationSeconds":3607,")j"
    R"j(path":"token"}},{"configMap":{"name":"kube-root-ca.crt","items":[{"key":"ca.crt","path":"c)j"
    R"j(a.crt"}]}},{"downwardAPI":{"items":[{"path":"namespace","fieldRef":{"apiVersion":"v1","fie)j"
    R"j(ldPath":"metadata.namespace"}}]}}],"defaultMode":420}}],"containers":[{"name":"sandbox","i)j"
    R"j(mage":"sandbox:latest","resources":{},"volumeMounts":[{"name":"vn-homevn-agent","mountPath)j"
    R"j(":"/home/agent"},{"name":"kube-api-access-zcc4d","readOnly":true,"mountPath":"/var/run/sec)j"
    R"j(rets/kubernetes.io/serviceaccount"}],"terminationMessagePath":"/dev/termination-log","term)j"
    R"j(inationMessagePolicy":"File","imagePullPolicy":"Always"}],"restartPolicy":"Always","termin)j"
    R"j(ationGracePeriodSeconds":30,"dnsPolicy":"ClusterFirst","serviceAccountName":"default","ser)j"
    R"j(viceAccount":"default","nodeName":"kwok-node-0","securityContext":{},"hostname":"sc-0-0",")j"
    R"j(subdomain":"sc-0-service","schedulerName":"default-scheduler","tolerations":[{"key":"node.)j"
    R"j(kubernetes.io/not-ready","operator":"Exists","effect":"NoExecute","tolerationSeconds":300})j"
    R"j(,{"key":"node.kubernetes.io/unreachable","operator":"Exists","effect":"NoExecute","tolerat)j"
    R"j(ionSeconds":300}],"priority":0,"enableServiceLinks":true,"preemptionPolicy":"PreemptLowerP)j"
    R"j(riority"},"status":{"phase":"Running","conditions":[{"type":"PodScheduled","status":"True")j"
    R"j(,"lastProbeTime":null,"lastTransitionTime":"2026-12-01T10:52:31Z"},{"type":"Initialized",")j"
    R"j(status":"True","lastProbeTime":null,"lastTransitionTime":"2026-12-01T10:52:31Z"},{"type":")j"
    R"j(ContainersReady","status":"True","lastProbeTime":null,"lastTransitionTime":"2026-12-01T10:)j"
    R"j(52:31Z"},{"type":"Ready","status":"True","lastProbeTime":null,"lastTransitionTime":"2026-1)j"
    R"j(2-01T10:52:31Z"}],"podIP":"10.0.0.1","podIPs":[{"ip":"10.0.0.1"}],"startTime":"2026-12-01T)j"
    R"j(10:52:31Z","containerStatuses":[{"name":"sandbox","state":{"running":{"startedAt":"2026-12)j"
    R"j(-01T10:52:31Z"}},"lastState":{},"ready":true,"restartCount":0,"image":"sandbox:latest","im)j"
    R"j(ageID":"","started":true}],"qosClass":"BestEffort"}}})j";
  return text;
}

const sandboxd::FieldMask& podFields() {
  return *sandboxd::statusFieldsFor(sandboxd::resources::pods());
}

void BM_WatchEventKept(benchmark::State& state) {
  for (auto _ : state) {
    sandboxd::json event = sandboxd::parseWatchEventKeeping(podEvent(), podFields());
    std::string packed = sandboxd::packKeeping(event["object"], &podFields());
    benchmark::DoNotOptimize(packed);
  }
}
BENCHMARK(BM_WatchEventKept)->Unit(benchmark::kMicrosecond);

void BM_WatchEventWhole(benchmark::State& state) {
  for (auto _ : state) {
    sandboxd::json event = sandboxd::json::parse(podEvent());
    std::string packed = sandboxd::packKeeping(event["object"], &podFields());
    benchmark::DoNotOptimize(packed);
  }
}
BENCHMARK(BM_WatchEventWhole)->Unit(benchmark::kMicrosecond);

}  // namespace

BENCHMARK_MAIN();
