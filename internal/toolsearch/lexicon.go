package toolsearch

import (
	"slices"
	"strings"
)

// lexicon is what a user's words mean in the domains MCP tools serve, written domain by domain
// from how people talk about issue trackers, code hosting, chat, documents, Kubernetes, files,
// time, memory, CRMs, error tracking and browser automation — not query by query.
//
// Each line is "targets <- sources": any of the comma-separated sources in a query adds the
// targets, in the words the tools themselves use; targets separated by | are alternatives
// ("worklog | time spent"), the words of one alternative go together ("pull request"). A source of one word keeps counting as itself; a
// source of several words is a phrase, which stands for its targets instead of its words ("spin
// up" is not about spinning, "working copy" not about copying). Sources are matched after
// stemming, so "tickets" and "ticket" are one source; stop words count in a phrase ("go to",
// "how many"). "a = b = c" says that each of the words means the others.
const lexicon = `
# Words of every domain.
get | read <- show, display, see, view, grab, obtain, dump, print, pull, fetch, retrieve, read
list <- all, every, enumerate, which, browse, overview
search <- find, look for, look up, look through, search through, lookup, locate, hunt, grep, filter, query, where is
create <- make, new, add, start, open up, raise, compose
update <- change, modify, edit, alter, adjust, tweak, rename, set
delete <- remove, drop, erase, discard, destroy, trash, throw away, get rid of, purge, wipe, forget
move <- relocate, transfer, shift, migrate
copy <- duplicate, clone
reply <- respond, answer, reply to
multiple | batch <- several, many, bulk, at once, in one go, in bulk, a batch of, a bunch of, lots of
count | statistics <- how many, number of, how often, stats, statistic, metrics, tally
history | version <- past, earlier, previously, previous version, ago, yesterday, last week, last month, used to
url | link <- address, website, site, web page, webpage, hyperlink
url <- link
link <- reference, references, referencing, mention, mentions
select <- pick, choose
all | entire <- everything, entire, whole
recent = latest = newest
permission | restriction | access <- allowed, allow, permitted, can see, can edit, can view, who can, visibility, private, lock, locked, share, sharing
user <- person, people, colleague, teammate, member, someone, somebody, account, who is, who's
profile <- who is, who's, about user, details of user
date | time <- when
self | current user <- who am i, about me, my account, my profile, signed in as, logged in as, my token

# Issue trackers (Jira and the like).
issue <- ticket, bug, defect, story, task, card, work item
assign | assignee <- hand, hand over, hand off, delegate, reassign, owner, responsible
assignable <- can assign, can i assign, can be assigned, can i hand
watcher | watch <- watch, watching, follow, follower, following, subscribe, subscribed, unfollow, unsubscribe, cc, notified
remove watcher <- stop following, stop watching, unfollow, unsubscribe, unwatch
transition | status <- done, close out, resolve, reopen, in progress, in review, progress, statuses
sprint <- iteration, cycle
backlog <- unplanned
epic <- initiative, parent story
worklog | time spent <- booked, book time, logged time, log time, hours, timesheet, track time, spent, effort
attachment <- attached, attach, attachments, enclosure
issue link <- blocked by, is blocking, as blocking, depends on, dependency, dependencies
version | release <- milestone, fix version
component <- area, module
sla <- response time, breach, breaching, deadline, overdue, service level
dates <- when did
changelog | history <- history of changes, change history, audit trail
field option <- dropdown, drop-down, allowed value, picklist, choice
service desk | customer request <- helpdesk, help desk, support request
queue <- support queue, triage
board | agile <- kanban, scrum
comment <- remark

# Code hosting (GitHub, GitLab) and local git.
pull request <- pr, prs, change request
merge request <- mr, mrs
repository <- repo, repos, codebase
commit <- save my work, save changes, check in, checkin
diff | changed <- what changed
diff <- difference, different, differ, compare, delta
review <- approve, approval, lgtm, request changes, reviewed, reviewer
merge <- land
status check <- ci, build, checks, pipeline, green, passing
update branch <- rebase, up to date, catch up, sync with
file contents <- source, source code, readme
unstaged | working <- working copy, working tree, working directory, uncommitted, local changes, dirty, not staged
staged <- index, cached
reset <- unstage
log <- history, commit history, recent commits, past commits
checkout <- switch branch
branch <- branches, feature branch

# Chat (Slack and the like).
channel <- room, chat room
post message <- send a message, tell, announce, say
message <- msg, dm, chat
thread | reply <- in the thread, threaded
reaction | emoji <- react, thumbs up, upvote, heart
channel history | message <- what was said, recent messages, conversation
users <- members

# Documents and wikis (Confluence, Notion).
page <- wiki, doc, document, article, docs, wiki page
children <- subpage, subpages, child page, child pages, nested pages, pages under, below
tree | hierarchy <- outline, structure, table of contents, every page in, all pages in, page tree
section <- heading
views <- read count, popularity, visits, visitors, traffic, views
restriction <- lock, locked
template <- blueprint, boilerplate, from a template
history <- older version, previous version
diff <- compare versions, between versions, between the two versions
label <- tag, tags, category
attachment <- pdf
image <- picture, pictures, screenshot, screenshots, diagram, photo, png, jpg, jpeg, gif, svg
block children <- paragraph, append, add content
data source | database <- table, rows
property <- column, columns, field, attribute
markdown <- as markdown, export, plain text
self | bot <- integration, bot user
comment <- leave a comment, remark

# Kubernetes and Helm.
pod <- container, workload, pods
deployment <- app
scale | replica <- spin up, spin down, scale up, scale down, more pods, fewer pods, more instances, more replicas, instances
logs <- output, stdout, stderr, tail
exec command <- shell, shell into, ssh, terminal, bash
port forward <- tunnel, localhost, local port
apply manifest <- deploy, yaml
describe <- details, events
rollout <- restart, rollback, roll back, redeploy, revision
context <- cluster, kubeconfig
node | cordon | drain <- maintenance, evict, unschedulable, stop scheduling
helm chart <- chart, helm, package
explain | documentation <- spec
api resource <- crd, crds, custom resource, resource types
patch <- change in place, in place
create <- configmap
cleanup <- tear down, clean up
reconnect <- reauthenticate, re-authenticate, reconnect
ping <- alive, reachable, health, healthy

# Files on disk.
file <- document
directory <- folder, dir, folders, dirs
list directory <- ls, what's in, whats in
directory tree <- structure, recursively, recursive, hierarchy, layout
move | rename <- mv, relocate
read text file <- cat
media file <- image, picture, photo, audio, png, jpg, jpeg, gif, mp3, wav, binary
write file <- overwrite
edit file <- line-based
search files <- glob, pattern
file info <- metadata, last modified, modified, creation time, timestamp, stat, file size
sizes <- size, biggest, largest, disk usage, how big
allowed directory <- allowed, permitted, accessible, sandbox, can access
create directory <- mkdir

# Time.
current time <- clock, now, right now, local time
timezone <- time zone, tz, tokyo, london, paris, berlin, new york, sydney, singapore, los angeles, san francisco, chicago, india, utc, gmt, pst, est, cet
convert time <- equivalent, translate time

# Knowledge-graph memory.
observation <- remember, memorize, note down, fact, facts
entity <- person, thing, concept
relation <- relationship, connect, connection, related to
knowledge graph <- memory
search node <- recall

# CRMs (HubSpot).
object <- record, records, contact, contacts, company, companies, deal, deals, lead, leads, customer, customers, crm
association <- associate, associated, tie, tied to, related, relationship between
batch create object <- bulk create
batch update object <- bulk update
property <- field, fields, attribute, custom field, column
engagement <- log a call, log a meeting, activity, interaction
workflow <- automation, automations, sequence, automated
schema <- custom object, object types, custom object types
link <- ui link
user detail <- my permissions, scopes, portal
feedback <- complain, suggestion

# Error tracking (Sentry).
issue | error <- exception, exceptions, crash, crashes, crashing, failure, failures, problem
event <- occurrence, occurrences, trend
analyze | root cause <- suggest a fix, diagnose, debug, what caused
update issue status <- snooze, mute
organization <- org, orgs

# Web fetching and browser automation.
fetch url <- scrape, curl
fetch <- grab, download
browser | page <- web page, site, website, tab
click <- tap, tick, checkbox, toggle, uncheck
type <- enter text, input, key in
fill form <- fill in, fill out, form fields
navigate url | checkout | switch <- go to
navigate url <- visit, browse to
navigate back <- go back, previous page, back button
screenshot <- capture, snap
snapshot <- accessibility, elements, dom, clickable
console message <- console, js errors, javascript errors, warnings
network request <- api calls, xhr, network requests, http requests, traffic, http calls, network calls
evaluate <- run javascript, execute javascript, js, script
hover | mouse <- mouse over, hover over, pointer, cursor
drag <- drag and drop
select option <- dropdown, combobox
file upload <- choose file
dialog <- alert, popup, pop-up, confirm, prompt, modal
resize <- window size, viewport, smaller, bigger, mobile size
tabs <- new tab
wait <- pause, until, disappear, appear, spinner
close <- quit, exit, shut
emulate media <- dark mode, light mode, color scheme, print media, reduced motion
press key <- keyboard, escape, shortcut, hotkey

# Kinds of product, for the systems that are one: naming the kind leans towards those systems'
# tools (a system's name is in every one of its tools' names), without narrowing to them.
confluence | notion | page <- wiki, wikis, knowledge base, intranet
jira | issue <- issue tracker, bug tracker, ticketing
slack | message <- chat, messaging, im
hubspot | salesforce | crm <- crm, sales pipeline
sentry | error <- error tracker, error tracking, crash reporting, crash reports
kubernetes | kubectl <- k8s, kube, cluster, kubectl
github | gitlab <- code host, forge
playwright | browser <- headless browser, web browser
filesystem | file <- disk, local file, local files, file system
memory | knowledge graph <- knowledge graph, long-term memory

# Symmetric synonyms.
retrieve = get
current user <- self
credential | token <- secret
folder = directory
repo = repository
pr = pull request
email = mail
secret = credential
screenshot = image
`

// phrase is a lexicon source of several words and what it stands for.
type phrase struct {
	words   []string   // stemmed, lower-case, stop words kept
	targets [][]string // alternatives, each the terms of one meaning
}

// wordMeans holds the lexicon's one-word sources; phrases its longer ones, longest first so
// that "stop following" wins over "following".
var wordMeans, phrases = parseLexicon(lexicon)

// phrasesFrom indexes phrases by their first word: a query is compared only with the phrases
// that can start in it, not with all of them.
var phrasesFrom = func() map[string][]int {
	m := map[string][]int{}
	for i, p := range phrases {
		m[p.words[0]] = append(m[p.words[0]], i)
	}
	return m
}()

func parseLexicon(text string) (map[string][][]string, []phrase) {
	words := map[string][][]string{}
	var phrases []phrase
	add := func(source string, targets [][]string) {
		ws := phraseWords(source)
		switch {
		case len(ws) == 0:
		case len(ws) == 1:
			words[ws[0]] = appendMeanings(words[ws[0]], targets)
		default:
			i := slices.IndexFunc(phrases, func(p phrase) bool { return slices.Equal(p.words, ws) })
			if i < 0 {
				phrases = append(phrases, phrase{words: ws})
				i = len(phrases) - 1
			}
			phrases[i].targets = appendMeanings(phrases[i].targets, targets)
		}
	}
	for _, line := range strings.Split(text, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if targets, sources, ok := strings.Cut(line, " <- "); ok {
			meanings := meaningsOf(strings.Split(targets, "|"))
			for _, s := range strings.Split(sources, ",") {
				add(s, meanings)
			}
			continue
		}
		// Each member means all of them, itself included: a phrase stands for its targets.
		members := strings.Split(line, "=")
		for _, m := range members {
			add(m, meaningsOf(members))
		}
	}
	slices.SortStableFunc(phrases, func(x, y phrase) int { return len(y.words) - len(x.words) })
	return words, phrases
}

func meaningsOf(alternatives []string) [][]string {
	var out [][]string
	for _, a := range alternatives {
		if ts := Terms(a); len(ts) > 0 {
			out = appendMeanings(out, [][]string{ts})
		}
	}
	return out
}

func appendMeanings(list, more [][]string) [][]string {
	for _, m := range more {
		if !slices.ContainsFunc(list, func(x []string) bool { return slices.Equal(x, m) }) {
			list = append(list, m)
		}
	}
	return list
}

// phraseWords is how a lexicon source and a query are compared: lower-case stemmed words,
// stop words and numbers kept, since "who is" and "how many" are made of them.
func phraseWords(text string) []string {
	ws := words(text)
	for i, w := range ws {
		ws[i] = stem(strings.ToLower(w))
	}
	return ws
}
